import { readdirSync, readFileSync } from "node:fs";

// USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK).
const TICKS_PER_S = 100;

/** CPU time (user + system) a process has used, in ms; undefined once it has gone. */
export function cpuMsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

/**
 * Time a process's threads spent runnable but waiting for a CPU (the run queue), in ms, from
 * /proc/<pid>/task/<tid>/schedstat (on CPU ns, waiting ns, timeslices); undefined once gone.
 * On a shared machine this is the part of a hop's latency that is other processes' fault.
 */
export function runQueueMsOf(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[1]);
      } catch {}
    }
    return ns / 1e6;
  } catch {
    return undefined;
  }
}

function cmdlines() {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.push({ pid: Number(d), cmd: readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ") });
    } catch {}
  }
  return out;
}

/**
 * CPU used so far by each part of the stack: the services and the driver (by pid), the
 * private nats-server (by its port), and the PostgreSQL backends serving each service's
 * database (their process title names the database). Differences of two snapshots divided
 * by the orders in between give CPU ms per order.
 */
export function cpuSnapshot({ pids, natsPort, databases }, measure = cpuMsOf) {
  const snap = {};
  for (const [name, pid] of Object.entries(pids)) if (pid) snap[name] = measure(pid) ?? 0;
  const procs = cmdlines();
  const nats = procs.find((p) => p.cmd.startsWith("nats-server") && p.cmd.includes(` -p ${natsPort} `));
  if (nats) snap.nats = measure(nats.pid) ?? 0;
  for (const [name, db] of Object.entries(databases)) {
    snap[`pg:${name}`] = procs
      .filter((p) => p.cmd.startsWith("postgres: ") && p.cmd.includes(` ${db} `))
      .reduce((sum, p) => sum + (measure(p.pid) ?? 0), 0);
  }
  return snap;
}

/** cpuSnapshot's parts, measured by the time they waited in the run queue instead. */
export const runQueueSnapshot = (parts) => cpuSnapshot(parts, runQueueMsOf);

/** CPU ms per order of each part between two snapshots (a part that restarted counts from 0). */
export function cpuPerOrder(before, after, orders) {
  const out = {};
  let total = 0;
  for (const [k, v] of Object.entries(after)) {
    const used = v >= (before[k] ?? 0) ? v - (before[k] ?? 0) : v;
    out[k] = Math.round((used / Math.max(1, orders)) * 100) / 100;
    total += used;
  }
  out.total = Math.round((total / Math.max(1, orders)) * 100) / 100;
  return out;
}
