import type { NatsConnection } from "@nats-io/nats-core";
import type { ServiceName } from "@stockflow/contracts";
import type { Sql } from "postgres";
import { type Consumer, type ConsumerOptions, createConsumer } from "./consumer/consumer.js";
import { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "./relay/relay.js";
import { createRetention, messagingRetentionRules, type RetentionRule } from "./retention.js";
import type { Database, Logger } from "./types.js";
import { createUnitOfWork, type UnitOfWork } from "./unit-of-work.js";

export interface MessagingOptions {
  service: ServiceName;
  /** The service's database: drizzle for its transactions, a raw client for the relay. */
  database: { db: Database; sql: Sql };
  nc: NatsConnection;
  logger: Logger;
  /** Relay tuning; tests shorten its polling. */
  relay?: Pick<OutboxRelayOptions, "pollIntervalMs" | "batchSize" | "publishTimeoutMs" | "markDelayMs">;
  /**
   * How long published outbox rows and processed inbox ids are kept (OUTBOX_RETENTION,
   * INBOX_RETENTION), and the service's own expiring rows (`rules`): deleted by the service
   * while it runs (retention.ts). Without it nothing is deleted.
   */
  retention?: { outboxMs: number; inboxMs: number; rules?: readonly RetentionRule[] };
}

/** What a consumer of the service is given besides what `messaging` knows already. */
export type ServiceConsumerOptions = Omit<
  ConsumerOptions,
  "service" | "nc" | "db" | "logger" | "transaction"
>;

/**
 * A service's messaging, composed once in its bootstrap: the unit of work its writes go
 * through, its consumers (whose transactions are that unit of work's), and the relay that
 * publishes what they commit, which the service never touches.
 */
export interface Messaging {
  readonly unitOfWork: UnitOfWork;
  /** A durable consumer running its handlers in the unit of work's transactions. */
  consumer(options: ServiceConsumerOptions): Consumer;
  /** The consumers made so far (readiness). */
  readonly consumers: readonly Consumer[];
  /** Starts the relay, then the consumers, then the retention sweep. */
  start(): Promise<void>;
  /** Stops the consumers (finishing the messages in hand), then the relay (flushing the outbox). */
  stop(): Promise<void>;
  /** Outbox rows not published yet (tests, operators). */
  backlog: OutboxRelay["backlog"];
  /** Publishes until nothing is pending (tests). */
  flush: OutboxRelay["flush"];
}

export function createMessaging({
  service,
  database,
  nc,
  logger,
  relay: tuning,
  retention: kept,
}: MessagingOptions): Messaging {
  const relay = createOutboxRelay({ service, db: database.db, sql: database.sql, nc, logger, ...tuning });
  const unitOfWork = createUnitOfWork({ service, db: database.db, handOff: (rows) => relay.handOff(rows) });
  const consumers: Consumer[] = [];
  const retention =
    kept &&
    createRetention({
      service,
      sql: database.sql,
      logger,
      rules: [...messagingRetentionRules(kept), ...(kept.rules ?? [])],
    });
  return {
    unitOfWork,
    consumers,
    consumer(options) {
      const consumer = createConsumer({
        ...options,
        service,
        nc,
        db: database.db,
        logger,
        transaction: (work) => unitOfWork.transaction(work),
      });
      consumers.push(consumer);
      return consumer;
    },
    async start() {
      relay.start();
      for (const consumer of consumers) await consumer.start();
      retention?.start();
    },
    async stop() {
      await retention?.stop();
      await Promise.all(consumers.map((c) => c.stop()));
      await relay.stop();
    },
    backlog: () => relay.backlog(),
    flush: () => relay.flush(),
  };
}
