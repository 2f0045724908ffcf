import * as allocation from "./allocation.js";
import type { Contract } from "./define.js";
import * as ordering from "./ordering.js";
import * as warehouse from "./warehouse.js";

/** Every contract of the system, at every major version that is still published. */
export const allContracts: readonly Contract[] = [
  ...Object.values(ordering),
  ...Object.values(warehouse),
  ...Object.values(allocation),
];

const bySubject = new Map(allContracts.map((c) => [c.subject, c]));

export const contractForSubject = (subject: string): Contract | undefined => bySubject.get(subject);

const SUBJECT = /^([a-z]+)\.([a-z_]+)\.v(\d+)$/;

/** Splits `<producer>.<event>.v<major>`; undefined when the subject is not of that shape. */
export function parseSubject(
  subject: string,
): { producer: string; event: string; major: number } | undefined {
  const m = SUBJECT.exec(subject);
  if (!m) return undefined;
  return { producer: m[1]!, event: m[2]!, major: Number(m[3]) };
}
