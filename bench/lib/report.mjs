/** A plain text table: rows of cells, the first row is the header. */
export function table(rows) {
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : String(c))));
  const widths = text[0].map((_, i) => Math.max(...text.map((r) => r[i]?.length ?? 0)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(text[0]), widths.map((w) => "-".repeat(w)).join("  "), ...text.slice(1).map(line)].join("\n");
}

const round2 = (x) => (typeof x === "number" ? Math.round(x * 100) / 100 : x);
const ms = (s) => (s && s.p50 !== null ? `${s.p50} / ${s.p95} / ${s.p99}` : "-");
const mb = (x) => (x === undefined || x === null || Number.isNaN(x) ? "-" : `${Math.round(x)} MB`);

/** The human-readable report of one run. */
export function render(r) {
  const out = [];
  if (r.prefill) {
    const p = r.prefill;
    out.push(
      "",
      `== prefill: ${p.n} historical orders (${p.customers} customers) in ${p.seconds} s: writes ${p.writeSeconds} s, vacuum analyze ${p.vacuumAnalyzeSeconds} s, checkpoint ${p.checkpointSeconds} s; rows per table after it ==`,
    );
    const dbs = Object.keys(p.rows);
    const tables = [...new Set(dbs.flatMap((db) => Object.keys(p.rows[db])))].sort();
    out.push(table([["table", ...dbs], ...tables.map((t) => [t, ...dbs.map((db) => p.rows[db][t])])]));
  }
  const passes = [[r.tracing ?? "on", r.steps, r.latency]];
  if (r.untraced) passes.push(["off", r.untraced.steps, r.untraced.latency]);
  const stepsOf = (label, steps) => [
    `== steps, tracing ${label} (offered rate -> every order allocated?) ==`,
    table([
      [
        "offered/s",
        "accepted/s",
        "not offered",
        "non-202",
        "errors",
        "backlog end",
        "max backlog",
        "drain ms",
        "to-bus p50/p95/p99 ms",
        "spans/order",
        "verdict",
      ],
      ...steps.map((s) => [
        s.offeredRate,
        s.acceptedPerS,
        s.notOffered,
        s.non202,
        s.errors,
        s.backlogAtWindowEnd,
        s.maxBacklog,
        s.drainMs,
        ms(s.toBus),
        s.spans?.perOrder,
        s.pass ? "sustained" : `no: ${s.why}`,
      ]),
    ]),
  ];
  for (const [label, steps] of passes) out.push("", ...stepsOf(label, steps));
  const lat = r.latency;
  const off = r.untraced;
  const offLat = off?.latency;
  const cost =
    r.sustained?.ordersPerS && off?.sustained?.ordersPerS
      ? `${Math.round((1 - r.sustained.ordersPerS / off.sustained.ordersPerS) * 100)}% of the rate without`
      : undefined;
  const both = (name, on, untraced) => [name, on, off ? untraced : "-"];
  const waited = (l) =>
    l?.storefront
      ? `${l.storefront.waited} waited, ${l.storefront.notAllocated} not seen allocated, ${l.storefront.askedAgain} asked again, ${l.storefront.errors} errors`
      : undefined;
  const rows = [
    [
      "figure",
      `tracing ${r.tracing ?? "on"}${r.tracing === "off" ? "" : " (every span exported over OTLP)"}`,
      "tracing off",
    ],
    both(
      "1. sustained end-to-end (orders/s, every order allocated)",
      r.sustained?.ordersPerS ?? "none",
      off?.sustained?.ordersPerS ?? "none",
    ),
    ["   what tracing costs", cost, ""],
    both("2. latency run: offered orders/s (50% of sustained)", lat?.offeredRate, offLat?.offeredRate),
    both(
      "   storefront: POST sent -> GET ?wait= answers allocated p50/p95/p99 ms",
      ms(lat?.storefront),
      ms(offLat?.storefront),
    ),
    both("     the same from the 202", ms(lat?.storefront?.from202), ms(offLat?.storefront?.from202)),
    both(
      "     line_allocated on the bus -> ordering applies it",
      ms(lat?.storefront?.busToApplied),
      ms(offLat?.storefront?.busToApplied),
    ),
    both(
      "     ordering applied it -> GET ?wait= answers",
      ms(lat?.storefront?.appliedToAnswer),
      ms(offLat?.storefront?.appliedToAnswer),
    ),
    both("     storefront waits", waited(lat), waited(offLat)),
    both("   POST -> 202 p50/p95/p99 ms", ms(lat?.post), ms(offLat?.post)),
    both(
      "   POST sent -> line_allocated on the bus p50/p95/p99 ms",
      ms(lat?.sentToBus),
      ms(offLat?.sentToBus),
    ),
    both("   202 -> line_allocated on the bus", ms(lat?.toBus), ms(offLat?.toBus)),
    both("     of which 202 -> order_placed on the bus", ms(lat?.toPlaced), ms(offLat?.toPlaced)),
    both("     and order_placed -> line_allocated", ms(lat?.placedToBus), ms(offLat?.placedToBus)),
    both("   spans exported per order (storefront GETs included)", lat?.spans?.perOrder, "-"),
    ["3. POST /orders alone (allocation stopped): req/s", r.postAlone?.requestsPerS],
    [
      "   p50 / p99 ms, non-2xx",
      r.postAlone
        ? `${r.postAlone.latencyMs.p50} / ${r.postAlone.latencyMs.p99}, ${r.postAlone.non2xx}`
        : "-",
    ],
    ["4. allocation consumer alone: events/s", r.consumerAlone?.eventsPerS],
    [
      "   events, seconds, all acked",
      r.consumerAlone
        ? `${r.consumerAlone.events}, ${r.consumerAlone.seconds}, ${r.consumerAlone.drained}`
        : "-",
    ],
    ["5. JetStream publish/s (100 in flight, 1 KB)", r.references?.jetstream?.publishPerS],
    [
      "   JetStream one publish round trip p50/p99 ms",
      r.references?.jetstream
        ? `${r.references.jetstream.roundTripMs.p50} / ${r.references.jetstream.roundTripMs.p99}`
        : "-",
    ],
    [
      `   PostgreSQL insert tx/s (${r.references?.postgres?.connections} connections)`,
      r.references?.postgres?.txPerS,
    ],
    ["   PostgreSQL insert tx/s (1 connection)", r.references?.postgres1?.txPerS],
    ["ratio: e2e orders/s / PostgreSQL tx/s", r.ratios?.e2eOverPgTx],
    ["ratio: e2e p50 (to bus) / JetStream round trip p50", r.ratios?.p50OverJsRoundTrip],
  ];
  if (r.soak) {
    rows.push([`soak: ${r.soak.seconds} s at ${r.soak.offeredRate}/s, accepted/s`, r.soak.acceptedPerS]);
    rows.push(["   soak to-bus p50/p95/p99 ms", ms(r.soak.toBus)]);
  }
  rows.push([
    `integrity${r.integrity?.prefilledOrders ? " (the run's orders, besides the prefill)" : ""}: orders / lines allocated / allocations / over-allocated batches / batch totals off / doubled events`,
    r.integrity
      ? `${r.integrity.orders} / ${r.integrity.linesAllocated} / ${r.integrity.allocations} / ${r.integrity.overAllocatedBatches} / ${r.integrity.batchTotalsOff ?? "-"} / ${r.integrity.duplicateLineAllocated}`
      : "-",
  ]);
  out.push("", "== figures ==", table(rows));
  const cpuRows = [
    ...passes.flatMap(([label, steps, l]) => [
      ...steps.map((st) => [`tracing ${label}: step ${st.offeredRate}/s (per order)`, st.cpuMsPerOrder]),
      [`tracing ${label}: latency run (per order)`, l?.cpuMsPerOrder],
    ]),
    ["POST alone (per request)", r.postAlone?.cpuMsPerRequest],
    ["consumer alone (per event)", r.consumerAlone?.cpuMsPerEvent],
  ].filter(([, c]) => c);
  if (cpuRows.length) {
    const parts = [
      "ordering",
      "allocation",
      "warehouse",
      "pg:ordering",
      "pg:allocation",
      "pg:warehouse",
      "nats",
      "driver",
      "otlp",
      "total",
    ];
    out.push(
      "",
      "== CPU ms per order (user+system from /proc; PostgreSQL = the backends of each service's database) ==",
    );
    out.push(table([["phase", ...parts], ...cpuRows.map(([name, c]) => [name, ...parts.map((k) => c[k])])]));
    const waitRows = passes
      .map(([label, , l]) => [`tracing ${label}: latency run (per order)`, l?.runQueueMsPerOrder])
      .filter(([, c]) => c);
    if (waitRows.length) {
      out.push(
        "",
        "== run-queue wait ms per order (runnable, waiting for a CPU: /proc/<pid>/task/*/schedstat; the machine's other load shows here) ==",
      );
      out.push(
        table([["phase", ...parts], ...waitRows.map(([name, c]) => [name, ...parts.map((k) => c[k])])]),
      );
    }
  }
  const commitRows = [
    ...passes.flatMap(([label, steps, l]) => [
      ...steps.map((st) => [`tracing ${label}: step ${st.offeredRate}/s (per order)`, st.commitsPerOrder]),
      [`tracing ${label}: latency run (per order)`, l?.commitsPerOrder],
    ]),
    ["consumer alone (per event)", r.consumerAlone?.commitsPerEvent],
  ].filter(([, c]) => c);
  if (commitRows.length) {
    const dbs = ["ordering", "allocation", "warehouse"];
    out.push(
      "",
      "== PostgreSQL commits per order (pg_stat_database.xact_commit, each service's database) ==",
    );
    out.push(table([["phase", ...dbs], ...commitRows.map(([name, c]) => [name, ...dbs.map((k) => c[k])])]));
  }
  if (r.plans) {
    const sizes = r.prefill ? ` (${r.prefill.n} orders prefilled)` : "";
    out.push("", `== hot-path query plans (EXPLAIN ANALYZE on the tables this run left${sizes}) ==`);
    const plans = Object.entries(r.plans);
    out.push(
      table([
        ["hot path", "ms", "rows", "seq scan of a table > 10,000 rows"],
        ...plans.map(([key, q]) => [
          key,
          round2(q.executionMs),
          q.rows,
          q.bigSeqScans.length === 0
            ? "none"
            : q.bigSeqScans
                .map((x) => `${x.relation} (${x.tableRows} rows${x.generic ? ", generic plan" : ""})`)
                .join(", "),
        ]),
      ]),
    );
    for (const [key, q] of plans) {
      out.push(`${key}: ${q.path}`, `    ${q.summary}`);
      if (q.genericSummary) out.push(`    generic plan: ${q.genericSummary}`);
    }
  }
  out.push("", "== memory (RSS) ==");
  out.push(
    table([
      [
        "service",
        "start of run",
        "latency run start",
        "latency run end",
        r.soak ? "soak start" : "",
        r.soak ? "soak end" : "",
        "peak (VmHWM)",
      ],
      ...Object.entries(r.memory.services).map(([name, m]) => [
        name,
        mb(m.atStart),
        mb(m[`latencyStart:${r.tracing ?? "on"}`]),
        mb(m[`latencyEnd:${r.tracing ?? "on"}`]),
        r.soak ? mb(m.soakStart) : "",
        r.soak ? mb(m.soakEnd) : "",
        mb(m.peak),
      ]),
    ]),
  );
  return out.join("\n");
}
