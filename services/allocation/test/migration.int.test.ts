import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "@stockflow/service-kit";
import { createTestDatabase, type TestDatabase } from "@stockflow/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createViews } from "../src/adapters/db/views.js";
import { migrationsFolder, quietLogger } from "./support.js";

let testDb: TestDatabase;
let firstOnly: string;

beforeAll(async () => {
  testDb = await createTestDatabase("allocation_migration");
  // The migrations as they stood before per-batch totals: 0000 alone.
  firstOnly = mkdtempSync(join(tmpdir(), "allocation-migrations-"));
  cpSync(migrationsFolder, firstOnly, { recursive: true });
  const journalPath = join(firstOnly, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8"));
  journal.entries = journal.entries.slice(0, 1);
  writeFileSync(journalPath, JSON.stringify(journal));
});

afterAll(async () => {
  rmSync(firstOnly, { recursive: true, force: true });
  await testDb?.drop();
});

const open = (folder: string) =>
  openDatabase({ url: testDb.url, service: "allocation", migrationsFolder: folder, logger: quietLogger() });

describe("the per-batch totals migration", () => {
  it("brings a database of the first schema forward with each batch's allocated total", async () => {
    const before = await open(firstOnly);
    await before.sql`insert into products (sku, version) values ('OLD-LAMP', 5)`;
    await before.sql`insert into batches (reference, sku, qty, eta, registered_version)
      values ('old-1', 'OLD-LAMP', 10, null, 1), ('old-2', 'OLD-LAMP', 10, '2030-01-01', 2)`;
    await before.sql`insert into allocations (order_id, sku, batch_ref, qty, allocated_version)
      values ('o1', 'OLD-LAMP', 'old-1', 3, 3), ('o2', 'OLD-LAMP', 'old-1', 4, 4), ('o3', 'OLD-LAMP', 'old-2', 2, 5)`;
    await before.close();

    const after = await open(migrationsFolder);
    try {
      expect(await after.sql`select reference, allocated from batches order by reference`).toEqual([
        { reference: "old-1", allocated: 7 },
        { reference: "old-2", allocated: 2 },
      ]);
      const product = await createViews(after.db).product("OLD-LAMP");
      expect(product?.batches).toEqual([
        { reference: "old-1", qty: 10, available: 3, eta: null },
        { reference: "old-2", qty: 10, available: 8, eta: "2030-01-01" },
      ]);
    } finally {
      await after.close();
    }
  });
});
