import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const domainDir = fileURLToPath(new URL("../src/domain", import.meta.url));

describe("the domain", () => {
  it("imports nothing outside src/domain", () => {
    const imports = readdirSync(domainDir)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) =>
        [...readFileSync(`${domainDir}/${f}`, "utf8").matchAll(/from\s+"([^"]+)"/g)].map(
          (m) => `${f}: ${m[1]}`,
        ),
      );
    expect(imports.filter((i) => !/: \.\/[a-z-]+\.js$/.test(i))).toEqual([]);
  });
});
