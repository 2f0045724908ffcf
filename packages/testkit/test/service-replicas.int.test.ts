import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ServiceReplicas, startServiceReplicas } from "../src/index.js";

// A stand-in service: answers /readyz with 200 and every other path with its own PORT, so
// the test sees which replica answered.
const dir = mkdtempSync(join(tmpdir(), "testkit-replicas-"));
const entry = join(dir, "service.mjs");
writeFileSync(
  entry,
  `import { createServer } from "node:http";
   createServer((req, res) => res.end(req.url === "/readyz" ? "ok" : process.env.PORT))
     .listen(Number(process.env.PORT), "127.0.0.1");
   process.on("SIGTERM", () => process.exit(0));`,
);

let group: ServiceReplicas | undefined;
afterAll(async () => {
  await group?.killAll();
});

const answer = async (url: string) => (await fetch(`${url}/who`)).text();

describe("service replicas", () => {
  it("starts N processes on their own ports and rotates requests over the ones in rotation", async () => {
    group = await startServiceReplicas({ name: "stand-in", entry, count: 2 });
    expect(group.replicas.map((r) => r.name)).toEqual(["stand-in#0", "stand-in#1"]);
    const ports = group.replicas.map((r) => String(r.port));
    expect(new Set(ports).size).toBe(2);
    expect([await answer(group.nextUrl()), await answer(group.nextUrl())].sort()).toEqual([...ports].sort());

    expect(await group.stop(1)).toBe(0);
    expect([await answer(group.nextUrl()), await answer(group.nextUrl())]).toEqual([ports[0], ports[0]]);

    await group.start(1);
    expect(group.replicas[1]!.isRunning()).toBe(true);
    expect([await answer(group.nextUrl()), await answer(group.nextUrl())].sort()).toEqual([...ports].sort());

    await group.kill(0);
    expect(group.replicas[0]!.isRunning()).toBe(false);
    expect(await answer(group.nextUrl())).toBe(ports[1]);
  });
});
