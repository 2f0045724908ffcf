// Writes snapshots/<subject>.json for every contract. Refuses (exit 1) when a contract breaks
// its committed snapshot or a snapshot lost its contract, unless run with --force.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { allContracts } from "../src/index.js";
import { planSnapshots, snapshotFileName, snapshotText } from "../src/snapshots.js";

const dir = fileURLToPath(new URL("../snapshots/", import.meta.url));
const force = process.argv.includes("--force");
if (force) console.warn("--force: breaking changes and removed versions will be written");

const committed = new Map<string, object>(
  readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .map((file) => [file.slice(0, -".json".length), JSON.parse(readFileSync(dir + file, "utf8"))]),
);
const plan = planSnapshots(allContracts, committed);

for (const { subject, reasons } of plan.breaking) {
  console.error(`${subject}: breaking change to a published version:\n  ${reasons.join("\n  ")}`);
}
for (const subject of plan.orphans) {
  console.error(`${subject}: snapshot without a contract (removing a major version is breaking)`);
}
const refused = plan.breaking.length + plan.orphans.length;
if (refused > 0 && !force) {
  console.error("Nothing written. Publish the change as a new major version, or rerun with --force.");
  process.exit(1);
}

const toWrite = [...plan.write, ...plan.breaking.map((b) => b.subject)];
for (const contract of allContracts) {
  if (toWrite.includes(contract.subject)) {
    writeFileSync(dir + snapshotFileName(contract.subject), snapshotText(contract));
  }
}
for (const subject of plan.orphans) rmSync(dir + snapshotFileName(subject));
console.log(
  `snapshots: ${toWrite.length} written, ${plan.unchanged.length} unchanged, ${plan.orphans.length} removed`,
);
