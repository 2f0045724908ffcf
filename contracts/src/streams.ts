/** A JetStream stream as the contract defines it; messaging turns it into a server config. */
export interface StreamDefinition {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly storage: "file";
  readonly retention: "limits";
  readonly duplicateWindowMs: number;
  readonly description: string;
}

const TWO_MINUTES = 2 * 60 * 1000;

const stream = (name: string, subject: string, description: string): StreamDefinition => ({
  name,
  subjects: [subject],
  storage: "file",
  retention: "limits",
  duplicateWindowMs: TWO_MINUTES,
  description,
});

export const streams = {
  ORDERING: stream("ORDERING", "ordering.>", "events published by the ordering service"),
  ALLOCATION: stream("ALLOCATION", "allocation.>", "events published by the allocation service"),
  WAREHOUSE: stream("WAREHOUSE", "warehouse.>", "events published by the warehouse service"),
  DLQ: stream("DLQ", "dlq.>", "dead letters: dlq.<consumer service>.<original subject>"),
} as const;

export type StreamName = keyof typeof streams;

/** Subject of a dead letter of `consumer` for a message first published on `subject`. */
export const dlqSubject = (consumer: string, subject: string): string => `dlq.${consumer}.${subject}`;

/** Whether a NATS subject filter covers `subject`: `*` is one token, `>` the rest (one or more). */
export function filterCovers(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (const [i, token] of f.entries()) {
    if (token === ">") return s.length > i;
    if (token !== "*" && token !== s[i]) return false;
  }
  return f.length === s.length;
}
