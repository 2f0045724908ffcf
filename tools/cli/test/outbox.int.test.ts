import { createTestDatabase, freePort, type TestDatabase } from "@stockflow/testkit";
import type postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/cli.js";
import { outboxBacklog } from "../src/commands/outbox.js";
import { captureOutput, openTestDb } from "./support.js";

let pg: TestDatabase;
let sql: postgres.Sql;
let closedPortUrl: string;

beforeAll(async () => {
  pg = await createTestDatabase("cli_outbox");
  ({ sql } = await openTestDb(pg.url));
  await sql`
    insert into outbox (event_id, subject, payload, headers, created_at, published_at) values
      (gen_random_uuid(), 'ordering.order_placed.v1', '{}', '{}', now() - interval '5 minutes', null),
      (gen_random_uuid(), 'ordering.order_placed.v1', '{}', '{}', now() - interval '1 minute', null),
      (gen_random_uuid(), 'ordering.order_placed.v1', '{}', '{}', now(), null),
      (gen_random_uuid(), 'ordering.order_placed.v1', '{}', '{}', now() - interval '1 hour', now())`;
  closedPortUrl = `postgres://postgres@127.0.0.1:${await freePort()}/allocation`;
});

afterAll(async () => {
  await sql?.end();
  await pg?.drop();
});

describe("stockflow outbox", () => {
  it("reports the pending rows and the age of the oldest from a service's database", async () => {
    const cap = captureOutput();
    const [ordering] = await outboxBacklog({
      databases: [{ service: "ordering", url: pg.url }],
      output: cap.output,
    });
    expect(ordering).toMatchObject({ service: "ordering", ok: true, pending: 3 });
    expect(ordering?.ok && ordering.oldestAgeMs).toBeGreaterThanOrEqual(300_000);
    expect(ordering?.ok && ordering.oldestAgeMs).toBeLessThan(360_000);
    expect(cap.out[1]).toMatch(/^ordering\s+3\s+5m \d+s$/);
  });

  it("reports a database it cannot reach as such, shows the others, and exits 1", async () => {
    const cap = captureOutput();
    const env = {
      ORDERING_DATABASE_URL: pg.url,
      ALLOCATION_DATABASE_URL: closedPortUrl,
      WAREHOUSE_DATABASE_URL: pg.url.replace(/\/[^/]*$/, "/sf_no_such_database"),
    };
    expect(await run(["outbox"], { env, output: cap.output })).toBe(1);
    expect(cap.text()).toMatch(/ordering\s+3\s+5m/);
    expect(cap.text()).toMatch(/allocation\s+\?\s+cannot read: .*ECONNREFUSED/);
    expect(cap.text()).toMatch(/warehouse\s+\?\s+cannot read: database "sf_no_such_database" does not exist/);
  });

  it("prints the backlog as JSON with --json", async () => {
    const cap = captureOutput();
    const env = {
      ORDERING_DATABASE_URL: pg.url,
      ALLOCATION_DATABASE_URL: pg.url,
      WAREHOUSE_DATABASE_URL: pg.url,
    };
    expect(await run(["outbox", "--json"], { env, output: cap.output })).toBe(0);
    const rows = JSON.parse(cap.text()) as Array<{ service: string; pending: number }>;
    expect(rows.map((r) => [r.service, r.pending])).toEqual([
      ["ordering", 3],
      ["allocation", 3],
      ["warehouse", 3],
    ]);
  });
});
