import { randomBytes, randomUUID } from "node:crypto";
import { headers, type MsgHdrs } from "@nats-io/nats-core";
import { createMessagingTables } from "@stockflow/messaging/testing";
import { drizzle } from "drizzle-orm/postgres-js";
import pino from "pino";
import postgres from "postgres";
import type { Output } from "../src/output.js";

/** An Output that keeps what a command printed. */
export function captureOutput() {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = { out: (l) => void out.push(l), err: (l) => void err.push(l) };
  return { output, out, err, text: () => out.join("\n"), errText: () => err.join("\n") };
}

export async function openTestDb(url: string) {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  await createMessagingTables(sql);
  await sql`create table effects (id serial primary key, note text not null)`;
  return { sql, db: drizzle(sql) };
}

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

export const newTraceparent = () =>
  `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;

/** The headers a service's outbox relay puts on an event. */
export function eventHeaders(
  subject: string,
  id: string = randomUUID(),
  traceparent = newTraceparent(),
): MsgHdrs {
  const h = headers();
  h.set("ce-specversion", "1.0");
  h.set("ce-id", id);
  h.set("ce-source", "/test");
  h.set("ce-type", subject);
  h.set("ce-time", new Date().toISOString());
  h.set("content-type", "application/json");
  h.set("traceparent", traceparent);
  return h;
}

export const placed = (orderId: string) => ({
  orderId,
  customerId: "c-1",
  lines: [{ sku: "LAMP", qty: 1 }],
  placedAt: new Date().toISOString(),
});
