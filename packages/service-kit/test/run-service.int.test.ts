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
    let release: () => void = () => {};
    let entered = false;
    app.get("/slow", async () => {
      entered = true;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { done: true };
    });

    const events: string[] = [];
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
      events.push("response");
      return { status: res.status, body: await res.json() };
    });
    await waitFor(() => entered, { message: "the slow handler to start" });

    const stopped = running.shutdown("test");
    await waitFor(() => !app.server.listening, { message: "the server to stop accepting" });
    expect(events).toEqual([]);

    release();
    expect(await inFlight).toEqual({ status: 200, body: { done: true } });
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
