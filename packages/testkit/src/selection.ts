/**
 * Which PostgreSQL and which nats-server the tests get, decided from plain facts about the
 * machine. Pure: a fact left `undefined` has not been looked at yet, and the choice asks for
 * it (`{ kind: "probe" }`) only when it matters, cheapest first. Asking for `dockerDetected`
 * last is what keeps testcontainers unimported wherever a local server or binary exists.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface MachineFacts {
  readonly env: Env;
  /** 127.0.0.1:5432 accepts connections. */
  readonly localPostgres?: boolean;
  /** An executable `nats-server` is on the PATH. */
  readonly natsServerOnPath?: boolean;
  /** /var/run/docker.sock exists. */
  readonly dockerSocket?: boolean;
  /** testcontainers' own runtime detection found an engine (needs importing it). */
  readonly dockerDetected?: boolean;
}

export type Probe = Exclude<keyof MachineFacts, "env">;

export interface NeedProbe {
  readonly kind: "probe";
  readonly probe: Probe;
}

export type PostgresChoice =
  | { readonly kind: "env"; readonly url: string }
  | { readonly kind: "local"; readonly url: string }
  | { readonly kind: "container"; readonly image: string; readonly via: DockerEvidence }
  | { readonly kind: "unavailable"; readonly message: string };

export type NatsChoice =
  | { readonly kind: "binary"; readonly bin: string }
  | { readonly kind: "container"; readonly image: string; readonly via: DockerEvidence }
  | { readonly kind: "unavailable"; readonly message: string };

/** How we know a Docker engine is there, said again if starting a container fails. */
export type DockerEvidence = "DOCKER_HOST" | "/var/run/docker.sock" | "testcontainers' runtime detection";

export const LOCAL_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";
export const DEFAULT_POSTGRES_IMAGE = "postgres:15";
export const DEFAULT_NATS_IMAGE = "nats:2.9";

const probe = (name: Probe): NeedProbe => ({ kind: "probe", probe: name });
const set = (v: string | undefined): v is string => v !== undefined && v !== "";

/** `TESTKIT_USE_CONTAINERS=1` skips the local server and binary, to try the container path on purpose. */
export const containersForced = (env: Env): boolean => env.TESTKIT_USE_CONTAINERS === "1";

function docker(facts: MachineFacts): NeedProbe | DockerEvidence | undefined {
  if (set(facts.env.DOCKER_HOST)) return "DOCKER_HOST";
  if (facts.dockerSocket === undefined) return probe("dockerSocket");
  if (facts.dockerSocket) return "/var/run/docker.sock";
  if (facts.dockerDetected === undefined) return probe("dockerDetected");
  return facts.dockerDetected ? "testcontainers' runtime detection" : undefined;
}

const NO_DOCKER =
  "make a Docker engine reachable (DOCKER_HOST, /var/run/docker.sock or any runtime testcontainers detects)";

export function choosePostgres(facts: MachineFacts): PostgresChoice | NeedProbe {
  const { env } = facts;
  if (set(env.TEST_DATABASE_ADMIN_URL)) return { kind: "env", url: env.TEST_DATABASE_ADMIN_URL };
  const forced = containersForced(env);
  if (!forced) {
    if (facts.localPostgres === undefined) return probe("localPostgres");
    if (facts.localPostgres) return { kind: "local", url: LOCAL_ADMIN_URL };
  }
  const via = docker(facts);
  if (typeof via === "object") return via;
  const image = set(env.TESTKIT_POSTGRES_IMAGE) ? env.TESTKIT_POSTGRES_IMAGE : DEFAULT_POSTGRES_IMAGE;
  if (via) return { kind: "container", image, via };
  return {
    kind: "unavailable",
    message: forced
      ? `TESTKIT_USE_CONTAINERS=1 but no Docker engine was found: ${NO_DOCKER}, or unset it.`
      : "No PostgreSQL for test databases. Either set TEST_DATABASE_ADMIN_URL to an admin URL " +
        "(a role that may create databases), or run PostgreSQL on 127.0.0.1:5432 (user postgres, " +
        `trust authentication), or ${NO_DOCKER} so testkit starts a ${image} container.`,
  };
}

export function chooseNats(facts: MachineFacts): NatsChoice | NeedProbe {
  const { env } = facts;
  const forced = containersForced(env);
  if (!forced) {
    if (set(env.NATS_SERVER_BIN)) return { kind: "binary", bin: env.NATS_SERVER_BIN };
    if (facts.natsServerOnPath === undefined) return probe("natsServerOnPath");
    if (facts.natsServerOnPath) return { kind: "binary", bin: "nats-server" };
  }
  const via = docker(facts);
  if (typeof via === "object") return via;
  const image = set(env.TESTKIT_NATS_IMAGE) ? env.TESTKIT_NATS_IMAGE : DEFAULT_NATS_IMAGE;
  if (via) return { kind: "container", image, via };
  return {
    kind: "unavailable",
    message: forced
      ? `TESTKIT_USE_CONTAINERS=1 but no Docker engine was found: ${NO_DOCKER}, or unset it.`
      : "No nats-server for tests. Either put nats-server (2.9 or later) on the PATH, or set " +
        `NATS_SERVER_BIN to its path, or ${NO_DOCKER} so testkit starts a ${image} container.`,
  };
}

/**
 * Runs a choice to its end, looking at the machine only when the choice asks. Each probe
 * runs at most once per call.
 */
export async function decide<T>(
  choose: (facts: MachineFacts) => T | NeedProbe,
  env: Env,
  probes: Readonly<Record<Probe, () => Promise<boolean>>>,
): Promise<T> {
  let facts: MachineFacts = { env };
  for (;;) {
    const choice = choose(facts);
    if (!isProbe(choice)) return choice;
    if (facts[choice.probe] !== undefined) throw new Error(`probe ${choice.probe} asked twice`);
    facts = { ...facts, [choice.probe]: await probes[choice.probe]() };
  }
}

function isProbe(c: unknown): c is NeedProbe {
  return typeof c === "object" && c !== null && (c as { kind?: unknown }).kind === "probe";
}
