/**
 * Command-line options. `pnpm bench -- --quick` passes a lone "--" through, which is skipped.
 *   --quick            ~1 minute smoke run (short windows, fewer steps)
 *   --soak <seconds>   hold half the sustained rate that long and compare RSS at start and end
 *   --no-build         use services/*\/dist as they are
 *   --cpu-prof <name>  run that service (ordering|allocation|warehouse) under node --cpu-prof
 *   --steps a,b,c      offered rates (orders/s) to step through
 *   --window <s>       seconds per step
 *   --prefill <n>      write n historical orders into the databases before the run (README)
 *   --latency <rate>   only the latency phase, at that rate (a quick A/B), --runs <n> times
 *   --services <dir>   run the services of another checkout's build (its services/NAME/dist),
 *                      driven by this bench: an A/B of two builds with one load generator
 *   --hops             with --latency: where each run's time went, from the exported spans
 *                      (each span's duration, and the gap after its parent in another process)
 *   --no-storefront    no order waited for with ?wait= (to compare with a build without it)
 *   --tracing <mode>   both (default: steps and latency with every span exported, then again
 *                      without), on, or off (spans made but exported nowhere)
 */
export function parseArgs(argv) {
  const opts = {
    quick: false,
    soak: 0,
    build: true,
    cpuProf: [],
    steps: undefined,
    window: undefined,
    prefill: 0,
    latencyOnly: 0,
    runs: 1,
    tracing: "both",
    servicesRoot: undefined,
    storefront: true,
    hops: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--") continue;
    else if (a === "--quick") opts.quick = true;
    else if (a === "--soak") opts.soak = positive(a, next());
    else if (a === "--no-build") opts.build = false;
    else if (a === "--cpu-prof") opts.cpuProf.push(next());
    else if (a === "--steps")
      opts.steps = next()
        .split(",")
        .map((s) => positive(a, s));
    else if (a === "--window") opts.window = positive(a, next());
    else if (a === "--prefill") {
      opts.prefill = positive(a, next());
      if (!Number.isInteger(opts.prefill)) throw new Error(`${a}: expected a whole number of orders`);
    } else if (a === "--latency") opts.latencyOnly = positive(a, next());
    else if (a === "--runs") opts.runs = positive(a, next());
    else if (a === "--services") opts.servicesRoot = next();
    else if (a === "--no-storefront") opts.storefront = false;
    else if (a === "--hops") opts.hops = true;
    else if (a === "--tracing") {
      opts.tracing = next();
      if (!["both", "on", "off"].includes(opts.tracing))
        throw new Error(`${a}: expected both, on or off, got ${opts.tracing}`);
    } else if (a === "--help" || a === "-h") opts.help = true;
    else throw new Error(`unknown option ${a} (try --help)`);
  }
  for (const s of opts.cpuProf) {
    if (!["ordering", "allocation", "warehouse"].includes(s))
      throw new Error(`--cpu-prof: unknown service ${s}`);
  }
  return opts;
}

function positive(name, v) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got ${v}`);
  return n;
}

/** The plan: default ~5 minutes on 2 cores, --quick ~1 minute. */
export function planOf(opts) {
  const quick = opts.quick;
  return {
    steps:
      opts.steps ?? (quick ? [50, 150, 400, 800] : [50, 100, 200, 400, 700, 1000, 1300, 1600, 2000, 2500]),
    windowS: opts.window ?? (quick ? 4 : 8),
    /** Longest a step's orders may take to all read `allocated` after its window. */
    drainTimeoutS: quick ? 10 : 20,
    latencyS: quick ? 5 : 15,
    /** Share of the latency phase's orders a storefront waits for with GET /orders/:id?wait=: all. */
    storefrontShare: opts.storefront ? 1 : 0,
    postAloneS: quick ? 4 : 10,
    postAloneMax: quick ? 6000 : 20_000,
    consumerAloneMaxS: quick ? 20 : 60,
    refJsMessages: quick ? 10_000 : 30_000,
    refPgSeconds: quick ? 3 : 5,
    soakS: opts.soak,
  };
}
