import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { envReferencedBy, natsContainerArgs } from "../src/containers.js";
import {
  chooseNats,
  choosePostgres,
  DEFAULT_NATS_IMAGE,
  DEFAULT_POSTGRES_IMAGE,
  decide,
  type Env,
  LOCAL_ADMIN_URL,
  type MachineFacts,
  type Probe,
} from "../src/selection.js";

const probes = ["localPostgres", "natsServerOnPath", "dockerSocket", "dockerDetected"] as const;

/** Probes that answer from a table and remember what they were asked, in order. */
function machine(answers: Partial<Record<Probe, boolean>>) {
  const asked: Probe[] = [];
  const probe = (name: Probe) => async () => {
    asked.push(name);
    const answer = answers[name];
    if (answer === undefined) throw new Error(`test machine has no answer for ${name}`);
    return answer;
  };
  return {
    asked,
    probes: Object.fromEntries(probes.map((p) => [p, probe(p)])) as Record<Probe, () => Promise<boolean>>,
  };
}

const nothing: Partial<Record<Probe, boolean>> = {
  localPostgres: false,
  natsServerOnPath: false,
  dockerSocket: false,
  dockerDetected: false,
};

describe("choosePostgres", () => {
  it("takes TEST_DATABASE_ADMIN_URL without looking at the machine", async () => {
    const m = machine({});
    const url = "postgres://admin:pw@db.example:6543/postgres";
    await expect(decide(choosePostgres, { TEST_DATABASE_ADMIN_URL: url }, m.probes)).resolves.toEqual({
      kind: "env",
      url,
    });
    expect(m.asked).toEqual([]);
  });

  it("treats an empty TEST_DATABASE_ADMIN_URL as unset", () => {
    expect(choosePostgres({ env: { TEST_DATABASE_ADMIN_URL: "" } })).toEqual({
      kind: "probe",
      probe: "localPostgres",
    });
  });

  it("uses the shared server when 127.0.0.1:5432 answers and asks nothing about Docker", async () => {
    const m = machine({ ...nothing, localPostgres: true, dockerSocket: true });
    await expect(decide(choosePostgres, {}, m.probes)).resolves.toEqual({
      kind: "local",
      url: LOCAL_ADMIN_URL,
    });
    expect(m.asked).toEqual(["localPostgres"]);
  });

  it("prefers the shared server to a Docker engine named by DOCKER_HOST", async () => {
    const m = machine({ localPostgres: true });
    const chosen = await decide(choosePostgres, { DOCKER_HOST: "unix:///run/docker.sock" }, m.probes);
    expect(chosen.kind).toBe("local");
  });

  it("starts a container when DOCKER_HOST is set, without probing the socket or importing testcontainers", async () => {
    const m = machine({ localPostgres: false });
    await expect(decide(choosePostgres, { DOCKER_HOST: "tcp://docker:2375" }, m.probes)).resolves.toEqual({
      kind: "container",
      image: DEFAULT_POSTGRES_IMAGE,
      via: "DOCKER_HOST",
    });
    expect(m.asked).toEqual(["localPostgres"]);
  });

  it("starts a container when /var/run/docker.sock exists, before asking testcontainers", async () => {
    const m = machine({ localPostgres: false, dockerSocket: true });
    await expect(decide(choosePostgres, {}, m.probes)).resolves.toMatchObject({
      kind: "container",
      via: "/var/run/docker.sock",
    });
    expect(m.asked).toEqual(["localPostgres", "dockerSocket"]);
  });

  it("asks testcontainers' own detection last, and uses what it finds", async () => {
    const m = machine({ ...nothing, dockerDetected: true });
    await expect(decide(choosePostgres, {}, m.probes)).resolves.toMatchObject({
      kind: "container",
      via: "testcontainers' runtime detection",
    });
    expect(m.asked).toEqual(["localPostgres", "dockerSocket", "dockerDetected"]);
  });

  it("names all three ways out when there is nothing", async () => {
    const chosen = await decide(choosePostgres, {}, machine(nothing).probes);
    expect(chosen.kind).toBe("unavailable");
    const message = chosen.kind === "unavailable" ? chosen.message : "";
    expect(message).toContain("TEST_DATABASE_ADMIN_URL");
    expect(message).toContain("127.0.0.1:5432");
    expect(message).toContain("Docker engine");
    expect(message).toContain(DEFAULT_POSTGRES_IMAGE);
  });

  it("takes the image from TESTKIT_POSTGRES_IMAGE", () => {
    const chosen = choosePostgres({
      env: { TESTKIT_POSTGRES_IMAGE: "mirror.example/postgres:15.8" },
      localPostgres: false,
      dockerSocket: true,
    });
    expect(chosen).toMatchObject({ kind: "container", image: "mirror.example/postgres:15.8" });
  });

  it("with TESTKIT_USE_CONTAINERS=1, skips the shared server but still obeys TEST_DATABASE_ADMIN_URL", async () => {
    const forced = machine({ localPostgres: true, dockerSocket: true });
    await expect(
      decide(choosePostgres, { TESTKIT_USE_CONTAINERS: "1" }, forced.probes),
    ).resolves.toMatchObject({
      kind: "container",
    });
    expect(forced.asked).toEqual(["dockerSocket"]);
    const url = "postgres://postgres@elsewhere:5432/postgres";
    expect(choosePostgres({ env: { TESTKIT_USE_CONTAINERS: "1", TEST_DATABASE_ADMIN_URL: url } })).toEqual({
      kind: "env",
      url,
    });
  });

  it("with TESTKIT_USE_CONTAINERS=1 and no engine, says that the setting is the reason", async () => {
    const chosen = await decide(choosePostgres, { TESTKIT_USE_CONTAINERS: "1" }, machine(nothing).probes);
    expect(chosen).toMatchObject({
      kind: "unavailable",
      message: expect.stringContaining("TESTKIT_USE_CONTAINERS=1"),
    });
  });
});

describe("chooseNats", () => {
  it("runs NATS_SERVER_BIN without looking at the PATH", async () => {
    const m = machine({});
    await expect(decide(chooseNats, { NATS_SERVER_BIN: "/opt/nats/nats-server" }, m.probes)).resolves.toEqual(
      {
        kind: "binary",
        bin: "/opt/nats/nats-server",
      },
    );
    expect(m.asked).toEqual([]);
  });

  it("runs nats-server from the PATH and asks nothing about Docker", async () => {
    const m = machine({ natsServerOnPath: true, dockerSocket: true });
    await expect(decide(chooseNats, { DOCKER_HOST: "tcp://docker:2375" }, m.probes)).resolves.toEqual({
      kind: "binary",
      bin: "nats-server",
    });
    expect(m.asked).toEqual(["natsServerOnPath"]);
  });

  it("never looks at PostgreSQL", async () => {
    const m = machine(nothing);
    await decide(chooseNats, {}, m.probes);
    expect(m.asked).not.toContain("localPostgres");
  });

  it("starts a nats:2.9 container through DOCKER_HOST, the socket or testcontainers' detection, in that order", async () => {
    await expect(
      decide(chooseNats, { DOCKER_HOST: "unix:///x.sock" }, machine({ natsServerOnPath: false }).probes),
    ).resolves.toEqual({ kind: "container", image: DEFAULT_NATS_IMAGE, via: "DOCKER_HOST" });
    const socket = machine({ natsServerOnPath: false, dockerSocket: true });
    await expect(decide(chooseNats, {}, socket.probes)).resolves.toMatchObject({
      via: "/var/run/docker.sock",
    });
    expect(socket.asked).toEqual(["natsServerOnPath", "dockerSocket"]);
    const detected = machine({ ...nothing, dockerDetected: true });
    await expect(decide(chooseNats, {}, detected.probes)).resolves.toMatchObject({
      via: "testcontainers' runtime detection",
    });
    expect(detected.asked).toEqual(["natsServerOnPath", "dockerSocket", "dockerDetected"]);
  });

  it("names all three ways out when there is nothing", async () => {
    const chosen = await decide(chooseNats, {}, machine(nothing).probes);
    const message = chosen.kind === "unavailable" ? chosen.message : "";
    expect(message).toContain("PATH");
    expect(message).toContain("NATS_SERVER_BIN");
    expect(message).toContain("Docker engine");
    expect(message).toContain(DEFAULT_NATS_IMAGE);
  });

  it("takes the image from TESTKIT_NATS_IMAGE; TESTKIT_USE_CONTAINERS=1 passes over the binary", async () => {
    const m = machine({ natsServerOnPath: true, dockerSocket: true });
    const env = {
      TESTKIT_USE_CONTAINERS: "1",
      NATS_SERVER_BIN: "/usr/sbin/nats-server",
      TESTKIT_NATS_IMAGE: "nats:2.10",
    };
    await expect(decide(chooseNats, env, m.probes)).resolves.toMatchObject({
      kind: "container",
      image: "nats:2.10",
    });
    expect(m.asked).toEqual(["dockerSocket"]);
  });
});

describe("every machine", () => {
  // All combinations of the environment variables that matter and of the four facts.
  const envs: Env[] = [];
  for (const admin of [undefined, "postgres://u@h/postgres"])
    for (const bin of [undefined, "/bin/nats-server"])
      for (const host of [undefined, "tcp://d:2375"])
        for (const forced of [undefined, "1"])
          envs.push({
            TEST_DATABASE_ADMIN_URL: admin,
            NATS_SERVER_BIN: bin,
            DOCKER_HOST: host,
            TESTKIT_USE_CONTAINERS: forced,
          });
  const answers: Record<Probe, boolean>[] = [];
  for (let bits = 0; bits < 16; bits++)
    answers.push({
      localPostgres: (bits & 1) !== 0,
      natsServerOnPath: (bits & 2) !== 0,
      dockerSocket: (bits & 4) !== 0,
      dockerDetected: (bits & 8) !== 0,
    });

  const choosers = { postgres: choosePostgres, nats: chooseNats } as const;

  for (const [name, choose] of Object.entries(choosers)) {
    it(`${name}: asks each fact at most once, and the answer does not depend on facts it did not ask for`, async () => {
      for (const env of envs) {
        for (const a of answers) {
          const m = machine(a);
          const chosen = await decide(choose as (f: MachineFacts) => unknown, env, m.probes);
          expect(new Set(m.asked).size).toBe(m.asked.length);
          // Knowing everything up front gives the same choice.
          expect(choose({ env, ...a })).toEqual(chosen);
        }
      }
    });

    it(`${name}: imports testcontainers (asks dockerDetected) only when nothing cheaper decides`, async () => {
      for (const env of envs) {
        for (const a of answers) {
          const m = machine(a);
          const chosen = (await decide(choose as (f: MachineFacts) => unknown, env, m.probes)) as {
            kind: string;
          };
          const asked = m.asked.includes("dockerDetected");
          const local =
            name === "postgres"
              ? env.TEST_DATABASE_ADMIN_URL !== undefined ||
                (env.TESTKIT_USE_CONTAINERS !== "1" && a.localPostgres)
              : env.TESTKIT_USE_CONTAINERS !== "1" &&
                (env.NATS_SERVER_BIN !== undefined || a.natsServerOnPath);
          expect(asked).toBe(!local && env.DOCKER_HOST === undefined && !a.dockerSocket);
          if (local) expect(["env", "local", "binary"]).toContain(chosen.kind);
          else
            expect(chosen.kind).toBe(
              env.DOCKER_HOST || a.dockerSocket || a.dockerDetected ? "container" : "unavailable",
            );
        }
      }
    });
  }

  it("a probe that fails fails the decision", async () => {
    const failing = {
      ...machine(nothing).probes,
      localPostgres: async () => {
        throw new Error("probe broke");
      },
    };
    await expect(decide(choosePostgres, {}, failing)).rejects.toThrow("probe broke");
  });
});

describe("nats-server arguments for a container", () => {
  it("copies a config file in and points the argument at the copy, in every spelling", () => {
    const { args, configs } = natsContainerArgs([
      "-c",
      "deploy/nats/nats.conf",
      "--config=/abs/other.conf",
      "-DV",
    ]);
    expect(args).toEqual(["-c", "/etc/testkit/nats-0.conf", "--config=/etc/testkit/nats-1.conf", "-DV"]);
    expect(configs).toEqual([
      { source: resolve("deploy/nats/nats.conf"), target: "/etc/testkit/nats-0.conf" },
      { source: "/abs/other.conf", target: "/etc/testkit/nats-1.conf" },
    ]);
  });

  it("leaves other arguments alone, and a trailing -c without a file too", () => {
    expect(natsContainerArgs(["--max_payload", "2MB", "-c"])).toEqual({
      args: ["--max_payload", "2MB", "-c"],
      configs: [],
    });
  });

  it("passes on the environment variables a config reads, when they are set", () => {
    const config = 'users: [{ user: ordering, password: $ORDERING_NATS_PASSWORD }]\nX = "$INBOX"\n$UNSET_ONE';
    expect(envReferencedBy(config, { ORDERING_NATS_PASSWORD: "s3cret", OTHER: "no" })).toEqual({
      ORDERING_NATS_PASSWORD: "s3cret",
    });
  });
});
