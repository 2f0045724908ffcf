import type { Static, TObject } from "@sinclair/typebox";
import { type TypeCheck, TypeCompiler } from "@sinclair/typebox/compiler";
import "./formats.js";

export type ServiceName = "ordering" | "allocation" | "warehouse";

/** One event at one major version: its subject, stream, schema and compiled validator. */
export interface Contract<S extends TObject = TObject> {
  readonly producer: ServiceName;
  readonly event: string;
  readonly major: number;
  /** `<producer>.<event>.v<major>` */
  readonly subject: string;
  /** The JetStream stream that stores it. */
  readonly stream: string;
  readonly schema: S;
  readonly validator: TypeCheck<S>;
  /** Set on a major version kept only for a deprecation window (see `Deprecation`). */
  readonly deprecated?: Deprecation;
}

/**
 * A major version still published while its readers move to the version that supersedes it.
 * Producers enqueue the newer version only; the kit writes this one beside it, from
 * `downcast` (the newer payload as this version says it), in the same transaction.
 */
export interface Deprecation {
  readonly supersededBy: Contract;
  readonly downcast: (newer: unknown) => unknown;
}

/** Declares `C` deprecated in favour of `newer`, with how a `newer` event reads in `C`. */
export function supersededBy<N extends TObject, S extends TObject>(
  newer: Contract<N>,
  downcast: (event: Static<N>) => Static<S>,
): Deprecation {
  return { supersededBy: newer, downcast: downcast as (newer: unknown) => unknown };
}

/** The payload type of a contract, derived from its schema. */
export type EventOf<C extends Contract> = Static<C["schema"]>;

export const streamOf = (producer: ServiceName): string => producer.toUpperCase();

export function defineContract<S extends TObject>(
  producer: ServiceName,
  event: string,
  major: number,
  schema: S,
  deprecated?: Deprecation,
): Contract<S> {
  return {
    producer,
    event,
    major,
    subject: `${producer}.${event}.v${major}`,
    stream: streamOf(producer),
    schema,
    validator: TypeCompiler.Compile(schema),
    ...(deprecated ? { deprecated } : {}),
  };
}

/** Human-readable reasons why `value` does not satisfy the contract (empty when it does). */
export function validationErrors(contract: Contract, value: unknown): string[] {
  if (contract.validator.Check(value)) return [];
  return [...contract.validator.Errors(value)].slice(0, 10).map((e) => `${e.path || "/"}: ${e.message}`);
}
