// An OTLP/HTTP trace receiver in a process of its own (forked by stack.mjs), standing in for
// the collector operators run: it reads every export request, parses its JSON as a collector
// would, and counts the spans per service; it keeps none of them. Over IPC it answers
// { cmd: "stats" } with the counts and tells its URL once it listens.
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
        for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
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

server.listen(0, "127.0.0.1", () => {
  process.send?.({ url: `http://127.0.0.1:${server.address().port}` });
});
process.on("message", (m) => {
  if (m?.cmd === "stats") process.send?.({ stats: structuredClone(counts) });
});
process.on("disconnect", () => server.close(() => process.exit(0)));
