export type { WarehouseService } from "./bootstrap.js";
export { bootstrap } from "./bootstrap.js";
export type { WarehouseConfig } from "./config.js";
export { loadConfig } from "./config.js";
export { ALLOCATION_DURABLE } from "./consumers/allocation.js";
