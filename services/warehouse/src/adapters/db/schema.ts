// The service's whole drizzle schema: its own tables plus the messaging kit's outbox and
// inbox, so that the service's migrations create those in its own database.
export { inbox, outbox } from "@stockflow/messaging";
export { batches, dispatchInstructions } from "./tables.js";
