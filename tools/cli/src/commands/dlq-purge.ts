import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { DLQ_STREAM, readDeadLetters } from "../dead-letters.js";
import { formatAge } from "../duration.js";
import type { Output } from "../output.js";

export interface DlqPurgeDeps {
  nc: NatsConnection;
  output: Output;
  now?: () => Date;
}

/** Deletes the dead letters stored longer ago than `olderThanMs`; returns their sequences. */
export async function dlqPurge(deps: DlqPurgeDeps, olderThanMs: number): Promise<number[]> {
  const { output } = deps;
  const now = (deps.now ?? (() => new Date()))().getTime();
  const jsm = await jetstreamManager(deps.nc);
  const old = (await readDeadLetters(jsm)).filter((d) => now - d.storedAt.getTime() >= olderThanMs);
  const purged: number[] = [];
  for (const d of old) {
    // Already gone (another operator, a replay) is what we wanted anyway.
    await jsm.streams.deleteMessage(DLQ_STREAM, d.seq, false).catch(() => false);
    purged.push(d.seq);
    output.out(
      `purged dead letter ${d.seq} (${d.reason}, ${d.originalSubject}, age ${formatAge(now - d.storedAt.getTime())})`,
    );
  }
  output.out(`${purged.length} dead letter(s) older than ${formatAge(olderThanMs)} purged`);
  return purged;
}
