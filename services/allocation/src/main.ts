import { runMain } from "@stockflow/service-kit";
import { bootstrap } from "./bootstrap.js";
import { loadConfig } from "./config.js";

await runMain({
  service: "allocation",
  loadConfig,
  bootstrap: (config, logger) => bootstrap(config, { logger }),
});
