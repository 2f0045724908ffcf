import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { readDeadLetters } from "../dead-letters.js";
import { formatAge } from "../duration.js";
import { type Output, table } from "../output.js";

export interface DlqListDeps {
  nc: NatsConnection;
  output: Output;
  now?: () => Date;
}

export interface DlqListOptions {
  json?: boolean;
}

/** Prints every dead letter: why it died, where it came from, and how long ago. */
export async function dlqList(deps: DlqListDeps, options: DlqListOptions = {}): Promise<number> {
  const { output } = deps;
  const now = (deps.now ?? (() => new Date()))().getTime();
  const letters = await readDeadLetters(await jetstreamManager(deps.nc));
  const rows = letters.map((d) => ({
    seq: d.seq,
    subject: d.subject,
    reason: d.reason,
    error: d.error,
    consumer: d.consumer,
    originalSubject: d.originalSubject,
    originalStream: d.originalStream,
    originalSequence: d.originalSequence,
    deliveryCount: d.deliveryCount,
    ceId: d.ceId,
    deadLetteredAt: d.storedAt.toISOString(),
    ageMs: Math.max(0, now - d.storedAt.getTime()),
  }));
  if (options.json) {
    output.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    output.out("the DLQ is empty");
    return 0;
  }
  const header = ["SEQ", "AGE", "REASON", "ORIGINAL SUBJECT", "ORIG SEQ", "DELIVERIES", "CONSUMER", "ERROR"];
  const lines = rows.map((r) => [
    String(r.seq),
    formatAge(r.ageMs),
    r.reason,
    r.originalSubject,
    `${r.originalStream}:${r.originalSequence}`,
    String(r.deliveryCount),
    r.consumer,
    r.error,
  ]);
  for (const line of table([header, ...lines])) output.out(line);
  output.out(`${rows.length} dead letter(s)`);
  return 0;
}
