import { execFile as execFileCb } from "node:child_process";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { TestInfrastructureError } from "./errors.js";
import { freePort } from "./free-port.js";

const execFile = promisify(execFileCb);

export interface PrivatePostgresServer {
  /** Admin URL (user postgres, database postgres) for createTestDatabase's adminUrl. */
  readonly url: string;
  readonly port: number;
  /** Fast shutdown; data kept so `start` resumes it. */
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

async function bindir(): Promise<string> {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  try {
    const { stdout } = await execFile("pg_config", ["--bindir"]);
    return stdout.trim();
  } catch (err) {
    throw new TestInfrastructureError(
      "startPostgresServer needs PostgreSQL's own binaries (initdb, pg_ctl): put pg_config on the " +
        "PATH or set PG_BINDIR. It has no container path.",
      { cause: err },
    );
  }
}

/**
 * A private PostgreSQL (initdb + pg_ctl from `pg_config --bindir`) on a free port, for tests
 * that stop the database. As root, it runs as the `postgres` system user (initdb refuses root).
 */
export async function startPostgresServer(): Promise<PrivatePostgresServer> {
  const bin = await bindir();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "sf-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await execFile("id", ["-u", "postgres"]);
    const { stdout: gid } = await execFile("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const run = (tool: string, args: string[]) =>
    asRoot
      ? execFile("runuser", ["-u", "postgres", "--", join(bin, tool), ...args])
      : execFile(join(bin, tool), args);

  await run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = async () => {
    await run("pg_ctl", ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "start"]);
  };
  const stop = async () => {
    await run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => {});
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async dispose() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
