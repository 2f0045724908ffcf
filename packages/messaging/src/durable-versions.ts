import {
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  type MsgRequest,
} from "@nats-io/jetstream";
import type { Contract } from "@stockflow/contracts";

/**
 * A durable consumer that replaces another one of the same service, which read older major
 * versions of some events: `durable` is the old one's name, `contracts` what the new one
 * reads that the old one did not (it acknowledged them without applying them).
 */
export interface Takeover {
  readonly durable: string;
  readonly contracts: readonly Contract[];
}

/**
 * Where the new durable starts so that it misses nothing: no later than the first message
 * the old durable has not acknowledged, and no later than the first message of each newly
 * read contract (all of them were skipped by the old one, announcements that only the new
 * version carries included). What it reads again that the old one applied must be harmless
 * to the handlers (product versions). Without an old durable, the whole stream (as any new
 * durable).
 */
export async function takeoverStart(
  jsm: JetStreamManager,
  stream: string,
  { durable, contracts }: Takeover,
): Promise<Pick<ConsumerConfig, "deliver_policy" | "opt_start_seq">> {
  const old = await jsm.consumers.info(stream, durable).catch(() => undefined);
  if (!old) return { deliver_policy: DeliverPolicy.All };
  let start = old.ack_floor.stream_seq + 1;
  for (const contract of contracts) {
    // STREAM.MSG.GET answers `next_by_subj` on 2.9 too; the client types it for direct gets only.
    const next = { seq: 1, next_by_subj: contract.subject } as unknown as MsgRequest;
    const first = await jsm.streams.getMessage(stream, next);
    if (first) start = Math.min(start, first.seq);
  }
  return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start };
}

const READS = "reads ";

/**
 * The consumer's description on the broker: the subjects it applies. nats-server 2.9 takes
 * one filter subject per consumer, so a durable reading several events of a stream filters
 * `<stream>.>` and skips the rest; the description says which versions it reads, for
 * operators (`stockflow contracts`).
 */
export const readsDescription = (contracts: readonly Contract[]): string =>
  READS + [...new Set(contracts.map((c) => c.subject))].sort().join(", ");

/** The subjects a durable's description says it reads; undefined for another description. */
export function subjectsRead(description: string | undefined): string[] | undefined {
  if (!description?.startsWith(READS)) return undefined;
  return description.slice(READS.length).split(", ").filter(Boolean);
}
