import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { portAcceptsConnections } from "./free-port.js";
import type { Env, Probe } from "./selection.js";

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Whether `name` resolves on the PATH, as a spawn of it would. */
export async function onPath(name: string, env: Env = process.env): Promise<boolean> {
  const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
  const names = process.platform === "win32" ? [`${name}.exe`, name] : [name];
  for (const dir of dirs) {
    for (const n of names) if (await executable(join(dir, n))) return true;
  }
  return false;
}

/**
 * The real probes behind `decide`. `dockerDetected` is the only one that imports
 * testcontainers; it resolves false when no runtime is found, but a broken install throws.
 */
export const machineProbes: Readonly<Record<Probe, () => Promise<boolean>>> = {
  localPostgres: () => portAcceptsConnections(5432, "127.0.0.1"),
  natsServerOnPath: () => onPath("nats-server"),
  dockerSocket: () =>
    access("/var/run/docker.sock").then(
      () => true,
      () => false,
    ),
  dockerDetected: async () => {
    const { getContainerRuntimeClient } = await import("testcontainers");
    return getContainerRuntimeClient().then(
      () => true,
      () => false,
    );
  },
};
