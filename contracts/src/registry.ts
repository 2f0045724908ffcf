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

/**
 * What publishing one `contract` event means while older major versions are deprecated but
 * still published: the event itself, then each older version superseded by it (directly or
 * through another deprecated version) with the payload downcast to it, newest first.
 */
export function publishedVersions(
  contract: Contract,
  payload: unknown,
): { contract: Contract; payload: unknown }[] {
  const versions = [{ contract, payload }];
  for (const older of allContracts) {
    if (older.deprecated?.supersededBy !== contract) continue;
    versions.push(...publishedVersions(older, older.deprecated.downcast(payload)));
  }
  return versions;
}

const SUBJECT = /^([a-z]+)\.([a-z_]+)\.v(\d+)$/;

/** Splits `<producer>.<event>.v<major>`; undefined when the subject is not of that shape. */
export function parseSubject(
  subject: string,
): { producer: string; event: string; major: number } | undefined {
  const m = SUBJECT.exec(subject);
  if (!m) return undefined;
  return { producer: m[1]!, event: m[2]!, major: Number(m[3]) };
}
