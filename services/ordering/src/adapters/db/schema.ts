// drizzle-kit reads this file: ordering's own tables, plus the messaging kit's outbox and
// inbox, which live in this database too and so belong in ordering's migrations.

export { inbox, outbox } from "@stockflow/messaging";
export { customers, idempotencyKeys, orderLines, orders } from "./tables.js";
