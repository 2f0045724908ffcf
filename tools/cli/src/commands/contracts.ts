import {
  type ConsumerInfo,
  type JetStreamManager,
  jetstreamManager,
  type MsgRequest,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { allContracts, type Contract, filterCovers } from "@stockflow/contracts";
import { subjectsRead } from "@stockflow/messaging";
import { formatAge } from "../duration.js";
import { type Output, table } from "../output.js";

export interface Reader {
  durable: string;
  /** The broker's filter subject of the durable. */
  filter: string;
  /** Messages not yet delivered plus delivered and not acknowledged. */
  backlog: number;
  /** Whether a client is pulling from it now (a pull request waits on the broker). */
  pulling: boolean;
}

export interface SubjectUsage {
  subject: string;
  stream: string;
  publisher: string;
  /** The subject superseding it, when this version is deprecated. */
  deprecatedFor: string | null;
  messages: number;
  lastPublishedAt: string | null;
  readers: Reader[];
}

/**
 * Whether a durable reads `subject`: its filter covers it and, when its description lists
 * the subjects it applies (the kit's durables, since nats-server 2.9 takes one filter per
 * consumer and theirs is `<stream>.>`), the list names it.
 */
export function durableReads(info: Pick<ConsumerInfo, "config">, subject: string): boolean {
  const filter = info.config.filter_subject || ">";
  if (!filterCovers(filter, subject)) return false;
  const listed = subjectsRead(info.config.description);
  return listed === undefined || listed.includes(subject);
}

async function consumersOf(jsm: JetStreamManager, stream: string): Promise<ConsumerInfo[]> {
  const out: ConsumerInfo[] = [];
  try {
    for await (const c of jsm.consumers.list(stream)) out.push(c);
  } catch {
    // A stream no service has created yet: no readers.
  }
  return out;
}

async function usageOf(
  jsm: JetStreamManager,
  contract: Contract,
  consumers: ConsumerInfo[],
): Promise<SubjectUsage> {
  const { subject, stream } = contract;
  const info = await jsm.streams.info(stream, { subjects_filter: subject }).catch(() => undefined);
  const messages = info?.state.subjects?.[subject] ?? 0;
  const last =
    messages > 0
      ? await jsm.streams.getMessage(stream, { last_by_subj: subject } as MsgRequest).catch(() => null)
      : null;
  return {
    subject,
    stream,
    publisher: contract.producer,
    deprecatedFor: contract.deprecated?.supersededBy.subject ?? null,
    messages,
    lastPublishedAt: last ? last.time.toISOString() : null,
    readers: consumers
      .filter((c) => durableReads(c, subject))
      .map((c) => ({
        durable: c.name,
        filter: c.config.filter_subject || ">",
        backlog: c.num_pending + c.num_ack_pending,
        pulling: c.num_waiting > 0,
      }))
      .sort((a, b) => a.durable.localeCompare(b.durable)),
  };
}

/** Every contract's subject with its stream, traffic and readers, read from the broker. */
export async function contractUsage(nc: NatsConnection, contracts = allContracts): Promise<SubjectUsage[]> {
  const jsm = await jetstreamManager(nc);
  const byStream = new Map<string, ConsumerInfo[]>();
  const sorted = [...contracts].sort((a, b) => a.subject.localeCompare(b.subject));
  const out: SubjectUsage[] = [];
  for (const contract of sorted) {
    if (!byStream.has(contract.stream))
      byStream.set(contract.stream, await consumersOf(jsm, contract.stream));
    out.push(await usageOf(jsm, contract, byStream.get(contract.stream)!));
  }
  return out;
}

const readerText = (r: Reader) => `${r.durable} (${r.backlog} behind${r.pulling ? "" : ", no client"})`;

/**
 * Prints, for every subject, who publishes it, how many messages its stream holds and when
 * the last came, and each durable that reads it with its backlog; then, for each deprecated
 * version, the readers it has left (none: its producer may stop publishing it).
 */
export async function contractsReport(
  { nc, output }: { nc: NatsConnection; output: Output },
  { json = false, now = Date.now() }: { json?: boolean; now?: number } = {},
): Promise<SubjectUsage[]> {
  const usage = await contractUsage(nc);
  if (json) {
    output.out(JSON.stringify(usage, null, 2));
    return usage;
  }
  const rows = usage.map((u) => [
    u.deprecatedFor ? `${u.subject} (deprecated)` : u.subject,
    u.stream,
    u.publisher,
    String(u.messages),
    u.lastPublishedAt ? `${formatAge(now - Date.parse(u.lastPublishedAt))} ago` : "-",
    u.readers.length ? u.readers.map(readerText).join(", ") : "none",
  ]);
  for (const line of table([["SUBJECT", "STREAM", "PUBLISHER", "MESSAGES", "LAST", "READERS"], ...rows])) {
    output.out(line);
  }
  for (const u of usage.filter((x) => x.deprecatedFor)) {
    output.out("");
    output.out(
      u.readers.length
        ? `${u.subject} is deprecated (superseded by ${u.deprecatedFor}): ${u.readers.length} reader(s) left: ${u.readers.map((r) => r.durable).join(", ")}`
        : `${u.subject} is deprecated (superseded by ${u.deprecatedFor}): no reader left, ${u.publisher} may stop publishing it`,
    );
  }
  return usage;
}
