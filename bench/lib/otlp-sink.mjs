// An OTLP/HTTP trace receiver in a process of its own (forked by stack.mjs), standing in for
// the collector operators run: it reads every export request, parses its JSON as a collector
// would, and counts the spans per service; it keeps none of them. Over IPC it answers
// { cmd: "stats" } with the counts and tells its URL once it listens. Asked to
// ({ cmd: "timing", on: true }), it also keeps each span's times (bounded) and answers
// { cmd: "hops" } with where an order's time went: see hops() below.
import { createServer } from "node:http";

const counts = { requests: 0, spans: 0, bytes: 0, rejected: 0, byService: {} };

const serviceOf = (resource) =>
  resource?.attributes?.find((a) => a.key === "service.name")?.value?.stringValue ?? "unknown";

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    counts.requests++;
    counts.bytes += body.length;
    try {
      const { resourceSpans = [] } = JSON.parse(body.toString("utf8"));
      for (const rs of resourceSpans) {
        const service = serviceOf(rs.resource);
        let n = 0;
        for (const ss of rs.scopeSpans ?? []) {
          n += ss.spans?.length ?? 0;
          if (timing) for (const span of ss.spans ?? []) keep(service, span);
        }
        counts.spans += n;
        counts.byService[service] = (counts.byService[service] ?? 0) + n;
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    } catch {
      counts.rejected++;
      res.writeHead(400).end();
    }
  });
});

/** spanId -> { service, name, start, end, parent } (ms), the newest MAX_KEPT. */
const MAX_KEPT = 300_000;
const kept = new Map();
let timing = false;
const ms = (nanos) => Number(BigInt(nanos) / 1000n) / 1000;
function keep(service, span) {
  kept.set(span.spanId, {
    service,
    name: span.name,
    start: ms(span.startTimeUnixNano),
    end: ms(span.endTimeUnixNano),
    parent: span.parentSpanId || undefined,
  });
  if (kept.size > MAX_KEPT) kept.delete(kept.keys().next().value);
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
function summary(values) {
  const v = values.sort((a, b) => a - b);
  const r = (x) => Math.round(x * 10) / 10;
  return { n: v.length, p50: r(quantile(v, 0.5)), p99: r(quantile(v, 0.99)) };
}

/**
 * Per "service span-name": how long the span lasted, and how long after its parent (in
 * another process, as a consumer after its producer) it began: the time between two hops,
 * spent in the broker, in queues and waiting for a CPU. Spans are cleared after each answer.
 */
function hops() {
  const lasted = new Map();
  const after = new Map();
  const push = (map, key, v) => (map.get(key) ?? map.set(key, []).get(key)).push(v);
  for (const s of kept.values()) {
    const key = `${s.service} ${s.name}`;
    push(lasted, key, s.end - s.start);
    const parent = s.parent && kept.get(s.parent);
    if (parent && parent.service !== s.service)
      push(after, `${parent.service} ${parent.name} -> ${key}`, s.start - parent.end);
  }
  kept.clear();
  const table = (map) => Object.fromEntries([...map].map(([k, v]) => [k, summary(v)]));
  return { lasted: table(lasted), gapAfterParentEnd: table(after) };
}

server.listen(0, "127.0.0.1", () => {
  process.send?.({ url: `http://127.0.0.1:${server.address().port}` });
});
process.on("message", (m) => {
  if (m?.cmd === "stats") process.send?.({ stats: structuredClone(counts) });
  if (m?.cmd === "timing") timing = m.on === true;
  if (m?.cmd === "hops") process.send?.({ hops: hops() });
});
process.on("disconnect", () => server.close(() => process.exit(0)));
