import { runMain } from "@stockflow/service-kit";
import { bootstrap } from "./bootstrap.js";
import { loadConfig } from "./config.js";

await runMain({ service: "warehouse", loadConfig, bootstrap });
