// The service's whole database: its own tables plus the messaging kit's outbox and inbox,
// so that its migrations create them. drizzle.config.ts lists the same two sources by path
// (drizzle-kit cannot resolve the workspace package's source export).

export { inbox, outbox } from "@stockflow/messaging";
export { allocations, backorders, batches, batchNews, orderRecords, products } from "./tables.js";
