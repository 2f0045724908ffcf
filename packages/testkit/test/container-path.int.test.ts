import { afterAll, describe, expect, it } from "vitest";

// Each test file runs in its own process and testkit decides once per process, so these
// settings, made before the first call, put this file on the container path. The image
// names are invalid references: the start fails the same way with or without a Docker
// engine, and no container is ever run.
const saved = { ...process.env };
process.env.TESTKIT_USE_CONTAINERS = "1";
process.env.DOCKER_HOST = "unix:///nonexistent/testkit/docker.sock";
process.env.TESTKIT_POSTGRES_IMAGE = "testkit/NOT-A-VALID-REFERENCE:pg";
process.env.TESTKIT_NATS_IMAGE = "testkit/NOT-A-VALID-REFERENCE:nats";
delete process.env.TEST_DATABASE_ADMIN_URL;
afterAll(() => {
  process.env = saved;
});

const {
  adminDatabaseUrl,
  createTestDatabase,
  resolveAdminDatabaseUrl,
  startNatsServer,
  stopTestContainers,
  TestInfrastructureError,
} = await import("../src/index.js");

describe("the container path, when the container cannot start", () => {
  it("createTestDatabase says which container failed and why a Docker engine was expected", async () => {
    const failure = createTestDatabase("container_path");
    await expect(failure).rejects.toBeInstanceOf(TestInfrastructureError);
    await expect(failure).rejects.toThrow(
      /PostgreSQL container \(testkit\/NOT-A-VALID-REFERENCE:pg\) failed.*DOCKER_HOST/,
    );
    // A failed start is not remembered as the process's container.
    await expect(resolveAdminDatabaseUrl()).rejects.toThrow(/PostgreSQL container/);
    expect(adminDatabaseUrl()).toBe("postgres://postgres@127.0.0.1:5432/postgres");
  });

  it("startNatsServer says the same for nats-server", async () => {
    const failure = startNatsServer();
    await expect(failure).rejects.toBeInstanceOf(TestInfrastructureError);
    await expect(failure).rejects.toThrow(
      /nats-server container \(testkit\/NOT-A-VALID-REFERENCE:nats\) failed/,
    );
  });

  it("refuses a storeDir on this machine, which a container cannot keep its store in", async () => {
    await expect(startNatsServer({ storeDir: "/tmp/kept-store" })).rejects.toThrow(
      /storeDir.*nats-server binary/,
    );
  });

  it("stopTestContainers has nothing to stop and says nothing", async () => {
    await expect(stopTestContainers()).resolves.toBeUndefined();
  });
});
