// Writes asyncapi.json from the contracts.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { asyncApiText } from "../src/index.js";

const file = fileURLToPath(new URL("../asyncapi.json", import.meta.url));
writeFileSync(file, asyncApiText());
console.log(`wrote ${file}`);
