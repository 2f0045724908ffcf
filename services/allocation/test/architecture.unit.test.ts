import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../src/", import.meta.url));
const importsOf = (dir: string) =>
  readdirSync(src + dir).flatMap((file) =>
    [...readFileSync(`${src}${dir}/${file}`, "utf8").matchAll(/from "([^"]+)"/g)].map((m) => ({
      file,
      target: m[1]!,
    })),
  );

describe("the layers", () => {
  it("keep the domain free of anything outside it", () => {
    expect(importsOf("domain").filter(({ target }) => !target.startsWith("./"))).toEqual([]);
  });

  it("keep the application layer away from the database, NATS and HTTP", () => {
    const outside = importsOf("app").filter(
      ({ target }) =>
        !target.startsWith("./") &&
        !target.startsWith("../domain/") &&
        !target.startsWith("@stockflow/contracts") &&
        target !== "@stockflow/telemetry",
    );
    expect(outside).toEqual([]);
  });
});
