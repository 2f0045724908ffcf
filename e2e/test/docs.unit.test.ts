import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/stack.js";

// The repository alone must be enough to read: its documents state the contract themselves
// and every relative link lands on a file of the repository.

const tracked = execFileSync("git", ["ls-files"], { cwd: repoRoot, encoding: "utf8" }).split("\n");
const documents = tracked.filter((f) => f.endsWith(".md"));
const sources = tracked.filter((f) => /\.(ts|mjs|md)$/.test(f) && !f.startsWith("bench/results/"));

describe("the documentation", () => {
  it("points nowhere outside the repository (no spec file of the workplace, no sibling folder)", () => {
    const outside = sources.flatMap((file) =>
      readFileSync(join(repoRoot, file), "utf8")
        .split("\n")
        .flatMap((line, i) =>
          /system\.md|\.\.\/shared|shared\/spec/.test(line) ? [`${file}:${i + 1}`] : [],
        ),
    );
    expect(outside).toEqual([]);
  });

  it("has every relative link of every document land on a file of the repository", () => {
    const broken = documents.flatMap((file) =>
      [...readFileSync(join(repoRoot, file), "utf8").matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1] as string)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => !existsSync(join(repoRoot, dirname(file), target)))
        .map((target) => `${file} -> ${target}`),
    );
    expect(broken).toEqual([]);
  });

  it("states the system contract in docs/, linked from the README and every service's README", () => {
    expect(readFileSync(join(repoRoot, "docs/system-contract.md"), "utf8")).toMatch(/ce-datacontenttype/);
    for (const file of [
      "README.md",
      ...["ordering", "allocation", "warehouse"].map((s) => `services/${s}/README.md`),
    ]) {
      expect(readFileSync(join(repoRoot, file), "utf8"), file).toMatch(/docs\/system-contract\.md/);
    }
  });

  it("gives the quick start once, and no dated benchmark figures in the root README", () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    expect(readme.match(/pnpm start/g)?.length ?? 0).toBeLessThanOrEqual(3);
    expect(readme.match(/^## Quick start/gm)).toHaveLength(1);
    expect(readme).not.toMatch(/orders\/s sustained|\d,\d{3} orders\/s/);
  });
});
