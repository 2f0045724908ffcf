import { randomUUID } from "node:crypto";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type NatsConnection, headers as natsHeaders } from "@nats-io/nats-core";
import { type DeadLetter, DLQ_STREAM, readDeadLetter, readDeadLetters } from "../dead-letters.js";
import { CliError, type Output } from "../output.js";

export interface DlqReplayDeps {
  nc: NatsConnection;
  output: Output;
}

export type DlqReplayTarget = { seq: number } | { reason: string };

export interface ReplayResult {
  seq: number;
  originalSubject: string;
  ceId: string;
  /** Where the republished message landed. */
  stream: string;
  streamSequence: number;
}

// The runner's own headers describe the failure, not the event: they stay behind. The old
// Nats-Msg-Id must go too, or the broker's duplicate window could swallow the replay.
const isDropped = (key: string) => {
  const k = key.toLowerCase();
  return k.startsWith("dlq-") || k === "nats-msg-id";
};

/**
 * Republishes a dead letter's body with its original headers (ce-id, traceparent, ...) to its
 * original subject under a fresh Nats-Msg-Id, then deletes it from the DLQ. Consumers'
 * inboxes still dedup by ce-id, and the trace goes on from the original producer.
 */
export async function replayOne(
  nc: NatsConnection,
  jsm: JetStreamManager,
  d: DeadLetter,
): Promise<ReplayResult> {
  if (!d.originalSubject) {
    throw new CliError(
      `dead letter ${d.seq} has no dlq-original-subject header: cannot tell where to replay it`,
    );
  }
  const h = natsHeaders();
  const source = d.message.header;
  if (source) {
    for (const key of source.keys()) {
      if (isDropped(key)) continue;
      for (const value of source.values(key)) h.append(key, value);
    }
  }
  const ack = await jetstream(nc).publish(d.originalSubject, d.message.data, {
    headers: h,
    msgID: `replay:${d.ceId || d.seq}:${randomUUID()}`,
  });
  try {
    await jsm.streams.deleteMessage(DLQ_STREAM, d.seq, false);
  } catch (err) {
    // Replaying it again later is harmless (inboxes dedup by ce-id), but the operator should know.
    throw new CliError(
      `republished as ${ack.stream}:${ack.seq} but not deleted from ${DLQ_STREAM}: ${(err as Error).message}`,
    );
  }
  return {
    seq: d.seq,
    originalSubject: d.originalSubject,
    ceId: d.ceId,
    stream: ack.stream,
    streamSequence: ack.seq,
  };
}

/** `dlq replay <seq>` or `dlq replay --all --reason <r>`; prints one line per replayed letter. */
export async function dlqReplay(deps: DlqReplayDeps, target: DlqReplayTarget): Promise<ReplayResult[]> {
  const { nc, output } = deps;
  const jsm = await jetstreamManager(nc);
  const letters =
    "seq" in target
      ? [await readDeadLetter(jsm, target.seq)]
      : (await readDeadLetters(jsm)).filter((d) => d.reason === target.reason);
  const done: ReplayResult[] = [];
  const failures: string[] = [];
  for (const d of letters) {
    try {
      const r = await replayOne(nc, jsm, d);
      done.push(r);
      output.out(
        `replayed dead letter ${r.seq} to ${r.originalSubject} (ce-id ${r.ceId || "-"}) as ${r.stream}:${r.streamSequence}`,
      );
    } catch (err) {
      failures.push(`dead letter ${d.seq}: ${(err as Error).message}`);
      output.err(`could not replay dead letter ${d.seq}: ${(err as Error).message}`);
    }
  }
  if ("reason" in target) output.out(`${done.length} dead letter(s) with reason ${target.reason} replayed`);
  if (failures.length > 0) {
    throw new CliError(`${failures.length} dead letter(s) not replayed; they stay in the DLQ`);
  }
  return done;
}
