import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// No Docker engine on the machines that run this suite: the compose file and Dockerfiles are
// checked as text, for what `docker compose up` relies on.
const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, "utf8");

const SERVICES = { ordering: 3001, allocation: 3002, warehouse: 3003 } as const;
type Name = keyof typeof SERVICES;
const names = Object.keys(SERVICES) as Name[];

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number> | string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(read("docker-compose.yml"), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const service = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};

/** Compose interpolation with the defaults the file gives (`${VAR:-default}`), empty env. */
const interpolate = (value: string) => value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, "$1");

function env(s: ComposeService): Record<string, string> {
  const e = s.environment ?? {};
  const entries = Array.isArray(e)
    ? e.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])
    : Object.entries(e);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(String(v))]));
}

/** A host bind mount of `container` path, as a repository path. */
function mountOf(s: ComposeService, container: string): string | undefined {
  const mount = (s.volumes ?? []).map((v) => v.split(":")).find(([, target]) => target === container);
  return mount?.[0]?.replace(/^\.\//, "");
}

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped, split by stage. */
function stagesOf(dockerfile: string): Instruction[][] {
  const instructions = dockerfile
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [keyword = "", ...rest] = l.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
  const stages: Instruction[][] = [];
  for (const i of instructions) {
    if (i.keyword === "FROM") stages.push([]);
    stages.at(-1)?.push(i);
  }
  return stages;
}

describe("docker-compose.yml", () => {
  it("gives every service an image or a build", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(Boolean(s.image) || Boolean(s.build), `${name} has image or build`).toBe(true);
    }
  });

  it.each(names)("builds %s from its own Dockerfile with the repository root as context", (name) => {
    const { build } = service(name);
    expect(build).toEqual({ context: ".", dockerfile: `services/${name}/Dockerfile` });
    expect(existsSync(`${root}services/${name}/Dockerfile`)).toBe(true);
  });

  it.each(names)("wires %s's environment to its own database role, NATS user and Jaeger", (name) => {
    const e = env(service(name));
    expect(e).toMatchObject({
      PORT: String(SERVICES[name]),
      HOST: "0.0.0.0",
      NATS_URL: "nats://nats:4222",
      NATS_USER: name,
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318",
      OTEL_SERVICE_NAME: name,
    });
    const db = new URL(e.DATABASE_URL ?? "");
    expect([db.username, db.hostname, db.pathname]).toEqual([name, "postgres", `/${name}`]);
    // The password the service sends is the one the init script gave its role, and the
    // NATS password is the one nats-server reads for its user.
    expect(decodeURIComponent(db.password)).toBe(
      env(service("postgres"))[`${name.toUpperCase()}_DB_PASSWORD`],
    );
    expect(e.NATS_PASSWORD).toBe(env(service("nats"))[`${name.toUpperCase()}_NATS_PASSWORD`]);
  });

  it("gives warehouse its staff token", () => {
    expect(env(service("warehouse")).WAREHOUSE_STAFF_TOKEN).toBeTruthy();
  });

  it.each(names)(
    "checks %s's health on /readyz, publishes its port and waits for NATS and PostgreSQL",
    (name) => {
      const s = service(name);
      expect(s.healthcheck?.test.join(" ")).toContain("/readyz");
      expect(s.ports).toContain(`${SERVICES[name]}:${SERVICES[name]}`);
      expect(s.depends_on).toMatchObject({
        nats: { condition: "service_healthy" },
        postgres: { condition: "service_healthy" },
      });
    },
  );

  it("runs Jaeger all-in-one with its UI and OTLP ports and the OTLP collector on", () => {
    const jaeger = service("jaeger");
    expect(jaeger.image).toMatch(/^jaegertracing\/all-in-one/);
    expect(jaeger.ports).toEqual(expect.arrayContaining(["16686:16686", "4317:4317", "4318:4318"]));
    expect(env(jaeger).COLLECTOR_OTLP_ENABLED).toBe("true");
  });

  it("runs NATS with JetStream, a persistent store and the repository's nats.conf", () => {
    const nats = service("nats");
    const command = nats.command ?? [];
    expect(command).toContain("-js");
    const configPath = command[command.indexOf("-c") + 1] ?? "";
    const source = mountOf(nats, configPath);
    expect(source).toBe("deploy/nats/nats.conf");
    expect(existsSync(`${root}${source}`)).toBe(true);
    expect(mountOf(nats, command[command.indexOf("-sd") + 1] ?? "")).toBeTruthy();
    expect(nats.ports).toEqual(expect.arrayContaining(["4222:4222", "8222:8222"]));
  });

  it("sets every password nats.conf reads from the environment, and nats.conf knows every service's user", () => {
    const conf = read("deploy/nats/nats.conf");
    const wanted = [...conf.matchAll(/password:\s*\$([A-Z0-9_]+)/g)].map((m) => m[1]);
    expect(wanted.length).toBeGreaterThanOrEqual(4);
    const natsEnv = env(service("nats"));
    for (const name of wanted) expect(natsEnv[name ?? ""], `${name} is set`).toBeTruthy();
    for (const name of [...names, "operator"]) expect(conf).toMatch(new RegExp(`user:\\s*${name}\\b`));
  });

  it("creates each service's database and role from the repository's init script", () => {
    const postgresService = service("postgres");
    expect(postgresService.image).toMatch(/^postgres:15/);
    const initDir = mountOf(postgresService, "/docker-entrypoint-initdb.d");
    expect(initDir).toBe("deploy/postgres");
    expect(existsSync(`${root}deploy/postgres/init.sh`)).toBe(true);
    const sqlFile = env(postgresService).STOCKFLOW_SQL_FILE ?? "";
    expect(existsSync(`${root}deploy/postgres/${sqlFile.replace("/docker-entrypoint-initdb.d/", "")}`)).toBe(
      true,
    );
    expect(read("deploy/postgres/init.sh")).toContain("ordering allocation warehouse");
  });
});

describe.each(names)("services/%s/Dockerfile", (name) => {
  const text = read(`services/${name}/Dockerfile`);
  const stages = stagesOf(text);
  const runtime = stages.at(-1) ?? [];
  const args = (keyword: string, stage = runtime) =>
    stage.filter((i) => i.keyword === keyword).map((i) => i.args);
  const everything = stages.flat();

  it("is multi-stage, with a slim Node 20 runtime", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const nodeImage = /^ARG NODE_IMAGE=(\S+)/m.exec(text)?.[1] ?? "";
    const from = runtime[0]?.args.replace(/\$\{NODE_IMAGE\}/, nodeImage) ?? "";
    expect(from).toMatch(/^node:20-slim\b/);
  });

  it("installs and builds only this service and what it depends on", () => {
    const runs = args("RUN", everything).join("\n");
    expect(runs).toContain("--frozen-lockfile");
    expect(runs).toContain(`--filter "@stockflow/${name}..."`);
    expect(runs).toMatch(new RegExp(`turbo run build --filter="@stockflow/${name}\\.\\.\\."`));
    expect(runs).toMatch(new RegExp(`--filter "@stockflow/${name}" --prod deploy`));
    for (const other of names.filter((n) => n !== name)) expect(runs).not.toContain(`@stockflow/${other}`);
  });

  it("ships the compiled service with its migrations", () => {
    const runs = args("RUN", everything).join("\n");
    expect(runs).toContain(`services/${name}/dist`);
    expect(runs).toContain(`services/${name}/drizzle`);
  });

  it("runs as a non-root user, checks /readyz and starts node dist/main.js", () => {
    const user = args("USER").at(-1);
    expect(user).toBeTruthy();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(args("HEALTHCHECK").join(" ")).toContain("/readyz");
    expect(JSON.parse(args("CMD").at(-1) ?? "null")).toEqual(["node", "dist/main.js"]);
    expect(args("ENV").join(" ")).toContain("HOST=0.0.0.0");
    expect(args("EXPOSE")).toContain(String(SERVICES[name]));
  });
});

describe(".dockerignore", () => {
  it("keeps host builds, dependencies and git history out of the build context", () => {
    const ignored = read(".dockerignore").split(/\r?\n/);
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".git"]));
  });
});

describe("the services' Dockerfiles", () => {
  it("are one template, differing only in the service's name and port", () => {
    const template = (name: Name) =>
      read(`services/${name}/Dockerfile`)
        .replaceAll(name, "<name>")
        .replaceAll(String(SERVICES[name]), "<port>");
    const [first, ...others] = names;
    for (const name of others) expect(template(name)).toBe(template(first!));
  });
});
