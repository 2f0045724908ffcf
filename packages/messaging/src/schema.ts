import { sql } from "drizzle-orm";
import { bigserial, index, jsonb, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Events waiting to be published. Every service re-exports this table from its own drizzle
 * schema, so its migrations create it in its own database.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    eventId: uuid("event_id").notNull().unique(),
    subject: text("subject").notNull(),
    payload: jsonb("payload").notNull(),
    /** ce-* headers decided at enqueue time plus the trace context that was current then. */
    headers: jsonb("headers").$type<Record<string, string>>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    publishedAt: timestamp("published_at", { withTimezone: true }),
  },
  (t) => [
    index("outbox_pending_idx").on(t.id).where(sql`${t.publishedAt} is null`),
    // Retention deletes published rows oldest first.
    index("outbox_published_idx").on(t.publishedAt).where(sql`${t.publishedAt} is not null`),
  ],
);

/** Message ids a consumer has processed: written in the handler's own transaction. */
export const inbox = pgTable(
  "inbox",
  {
    consumer: text("consumer").notNull(),
    messageId: text("message_id").notNull(),
    subject: text("subject").notNull(),
    processedAt: timestamp("processed_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.consumer, t.messageId] }),
    // Retention deletes processed ids oldest first.
    index("inbox_processed_idx").on(t.processedAt),
  ],
);
