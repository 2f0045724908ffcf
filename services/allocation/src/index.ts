export type { AllocationService, BootstrapOptions } from "./bootstrap.js";
export { bootstrap } from "./bootstrap.js";
export type { AllocationConfig } from "./config.js";
export { loadConfig } from "./config.js";
