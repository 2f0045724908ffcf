import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const SERVICES = ["ordering", "allocation", "warehouse"];

/** Newest modification time of any file under `dir` (0 when it does not exist). */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Why a build is needed, or undefined: a missing dist/main.js, or sources newer than it. */
export function staleReason(root) {
  const shared = Math.max(
    ...[
      "contracts",
      "packages/messaging",
      "packages/service-kit",
      "packages/telemetry",
      "packages/testkit",
    ].map((p) => newest(join(root, p, "src"))),
  );
  for (const name of SERVICES) {
    const main = join(root, "services", name, "dist", "main.js");
    if (!existsSync(main)) return `services/${name}/dist/main.js is missing`;
    const built = statSync(main).mtimeMs;
    if (Math.max(shared, newest(join(root, "services", name, "src"))) > built) {
      return `sources are newer than services/${name}/dist/main.js`;
    }
  }
  if (!existsSync(join(root, "packages", "testkit", "dist", "index.js")))
    return "packages/testkit/dist is missing";
  return undefined;
}

/** Runs `pnpm build` at the root when needed; a failed build with every dist present only warns. */
export function buildIfNeeded(root, log) {
  const reason = staleReason(root);
  if (!reason) return;
  log(`building (${reason}): pnpm build`);
  const r = spawnSync("pnpm", ["build"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
  if (r.status === 0) return;
  const missing = SERVICES.filter((n) => !existsSync(join(root, "services", n, "dist", "main.js")));
  if (missing.length > 0) throw new Error(`pnpm build failed and ${missing.join(", ")} has no dist/main.js`);
  log("WARNING: pnpm build failed; benchmarking the dist/ that is already there");
}
