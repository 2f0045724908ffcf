export type { BootstrapOptions, OrderingService } from "./bootstrap.js";
export { bootstrap } from "./bootstrap.js";
export type { OrderingConfig } from "./config.js";
export { loadConfig } from "./config.js";
