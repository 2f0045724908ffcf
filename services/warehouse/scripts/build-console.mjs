// Builds the staff console (GET /console) into dist/console: the page, its stylesheet and
// one bundled script, all served by the service itself (no CDN: nothing outside is reachable).
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const service = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(service, "console");

/** Writes index.html, console.css and console.js to `outdir` (default: dist/console). */
export async function buildConsole(outdir = join(service, "dist", "console")) {
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(source, "src", "main.ts")],
    outfile: join(outdir, "console.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    minify: true,
    legalComments: "none",
    logLevel: "warning",
  });
  await Promise.all(["index.html", "console.css"].map((f) => copyFile(join(source, f), join(outdir, f))));
  return outdir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildConsole();
}
