import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The version in the package.json of the running service (`services/<name>/dist/main.js`
 * -> `services/<name>/package.json`), for the `service.version` resource attribute.
 */
export function versionOfMain(mainPath: string | undefined = process.argv[1]): string | undefined {
  if (!mainPath) return undefined;
  for (let dir = dirname(mainPath), depth = 0; depth < 3; dir = dirname(dir), depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version?: unknown };
      if (typeof pkg.version === "string") return pkg.version;
    } catch {
      // no package.json here: look one folder up
    }
  }
  return undefined;
}
