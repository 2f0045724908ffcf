import { connect } from "node:net";
import { createLogger } from "@stockflow/telemetry";
import { waitFor } from "@stockflow/testkit";
import { describe, expect, it } from "vitest";
import { buildHttpApp, runService } from "../src/index.js";

const logger = createLogger({ service: "run-test", level: "silent" });

describe("runService", () => {
  it("lets an in-flight request finish, then runs onStop and exits 0", async () => {
    const app = await buildHttpApp({
      service: "test",
      logger,
      readiness: async () => ({ ready: true, checks: {} }),
    });
    const events: string[] = [];
    let release: () => void = () => {};
    let entered = false;
    // Recorded by the server once the answer is written: the client may read it later.
    app.addHook("onResponse", async (request) => {
      if (request.url === "/slow") events.push("response");
    });
    app.get("/slow", async () => {
      entered = true;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { done: true };
    });

    const exits: number[] = [];
    const running = await runService({
      app,
      host: "127.0.0.1",
      port: 0,
      logger,
      handleSignals: false,
      onStop: () => {
        events.push("onStop");
      },
      exit: (code) => {
        exits.push(code);
      },
    });

    const inFlight = fetch(`${running.address}/slow`).then(async (res) => {
      return { status: res.status, connection: res.headers.get("connection"), body: await res.json() };
    });
    await waitFor(() => entered, { message: "the slow handler to start" });
    // Another client is half way through sending its request when the stop begins.
    let serverRead = false;
    app.server.once("connection", (socket) => socket.once("data", () => (serverRead = true)));
    const late = connect(Number(new URL(running.address).port), "127.0.0.1");
    let lateAnswer = "";
    late.setEncoding("utf8").on("data", (chunk: string) => {
      lateAnswer += chunk;
    });
    late.write("GET /healthz HTTP/1.1\r\nhost: test\r\n");
    await waitFor(() => serverRead, { message: "the server to read the first half" });

    const stopped = running.shutdown("test");
    await waitFor(() => !app.server.listening, { message: "the server to stop accepting" });
    expect(events).toEqual([]);
    // Its request, read after the stop began, is still served, and its connection ends.
    late.write("\r\n");
    await waitFor(() => late.closed, { message: "the late connection to close" });
    expect(lateAnswer).toMatch(/^HTTP\/1.1 200 /);
    const [head = "", body = ""] = lateAnswer.split("\r\n\r\n");
    expect(head.toLowerCase()).toContain("connection: close");
    expect(JSON.parse(body)).toEqual({ status: "ok" });

    release();
    // The in-flight answer ends its kept-alive connection, so the client does not reuse it.
    expect(await inFlight).toEqual({ status: 200, connection: "close", body: { done: true } });
    await stopped;
    expect(events).toEqual(["response", "onStop"]);
    expect(exits).toEqual([0]);
  });

  it("stops on SIGTERM and exits 1 on a second signal", async () => {
    const app = await buildHttpApp({
      service: "test",
      logger,
      readiness: async () => ({ ready: true, checks: {} }),
    });
    const exits: number[] = [];
    let finishStop: () => void = () => {};
    const stopStarted = new Promise<void>((started) => {
      void runService({
        app,
        host: "127.0.0.1",
        port: 0,
        logger,
        onStop: () =>
          new Promise<void>((resolve) => {
            started();
            finishStop = resolve;
          }),
        exit: (code) => {
          exits.push(code);
        },
      }).then(() => process.emit("SIGTERM", "SIGTERM"));
    });

    await stopStarted;
    process.emit("SIGINT", "SIGINT");
    expect(exits).toEqual([1]);
    finishStop();
    await waitFor(() => exits.length === 2, { message: "the graceful stop to finish" });
    expect(exits).toEqual([1, 0]);
    expect(process.listenerCount("SIGTERM")).toBe(0);
  });

  it("exits 1 when stopping takes longer than the deadline", async () => {
    const app = await buildHttpApp({
      service: "test",
      logger,
      readiness: async () => ({ ready: true, checks: {} }),
    });
    const exits: number[] = [];
    let finishStop: () => void = () => {};
    const running = await runService({
      app,
      host: "127.0.0.1",
      port: 0,
      logger,
      handleSignals: false,
      deadlineMs: 50,
      onStop: () =>
        new Promise<void>((resolve) => {
          finishStop = resolve;
        }),
      exit: (code) => {
        exits.push(code);
      },
    });
    const stopped = running.shutdown();
    await waitFor(() => exits.length === 1, { message: "the deadline" });
    expect(exits).toEqual([1]);
    finishStop();
    await stopped;
  });
});
