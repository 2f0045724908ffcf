import type { MsgHdrs } from "@nats-io/nats-core";
import type { Contract, EventOf } from "@stockflow/contracts";
import type { Tx } from "../types.js";

export interface MessageMeta {
  /** `ce-id` (or `Nats-Msg-Id`, or stream:sequence): the inbox key. */
  messageId: string;
  subject: string;
  streamSequence: number;
  deliveryCount: number;
  headers: MsgHdrs | undefined;
}

/** A message handed to a handler: its contract, its validated event and where it came from. */
export interface BatchItem<C extends Contract = Contract> {
  readonly contract: C;
  readonly event: EventOf<C>;
  readonly meta: MessageMeta;
  /**
   * Runs `fn` with this message's consumer span as the active context: span annotations,
   * and outbox rows made inside, belong to this message's trace rather than the call's.
   */
  within<T>(fn: () => T): T;
}

/** What a consumer runs for the messages of some contracts: built by `handle` or `handleBatch`. */
export interface Handler {
  readonly contracts: readonly Contract[];
  /** Whether consecutive messages of these contracts go to one call of `run`. */
  readonly batched: boolean;
  run(tx: Tx, items: readonly BatchItem[]): Promise<void>;
}

/** Binds a handler to the contract it handles; the event is typed from the contract. */
export function handle<C extends Contract>(
  contract: C,
  fn: (tx: Tx, event: EventOf<C>, meta: MessageMeta) => Promise<void>,
): Handler {
  return {
    contracts: [contract],
    batched: false,
    run: async (tx, items) => {
      for (const item of items) await fn(tx, item.event as EventOf<C>, item.meta);
    },
  };
}

/**
 * Binds one handler to several contracts and hands it the newly applied messages of a batch
 * together, so that it can load and write what they touch in a few statements instead of a
 * few per message. Items come in stream order; a run of them is cut by a message for another
 * handler, which runs between, in its stream position. The call is the unit of failure:
 * when it throws with several items, the consumer cannot tell which one is bad and runs
 * them one transaction each (see Failures in the README), so a call with one item must
 * behave as a per-message handler would.
 */
export function handleBatch<C extends Contract>(
  contracts: readonly C[],
  fn: (tx: Tx, items: BatchItem<C>[]) => Promise<void>,
): Handler {
  return { contracts, batched: true, run: (tx, items) => fn(tx, items as BatchItem<C>[]) };
}

/**
 * The calls one transaction makes for the newly applied messages of a batch, in stream
 * order: a per-message handler gets one call per message; a batch handler one call for each
 * run of consecutive applied messages that are its own (duplicates in between, which run
 * nothing, do not cut a run). Answers the calls as indexes into the batch.
 */
export function callsOf(handlers: readonly Handler[], applied: readonly boolean[]): number[][] {
  const calls: number[][] = [];
  for (let i = 0; i < handlers.length; i++) {
    if (!applied[i]) continue;
    const handler = handlers[i]!;
    const open = calls.at(-1);
    if (open && handler.batched && handlers[open[0]!] === handler) open.push(i);
    else calls.push([i]);
  }
  return calls;
}
