import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A span as it arrived over OTLP/HTTP JSON, flattened with its service name. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind number: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** The resource's attributes (service.name, service.version, ...). */
  resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  /** The base URL to put in OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
type KeyValue = { key: string; value: AnyValue };

const attributeValue = (v: AnyValue): string | number | boolean =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.boolValue ??
  v.doubleValue ??
  "";

const attrs = (list: KeyValue[] | undefined) =>
  Object.fromEntries((list ?? []).map((a) => [a.key, attributeValue(a.value)]));

/**
 * A minimal OTLP/HTTP receiver (JSON encoding: run exporters with
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json) that keeps every span it is sent.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url?.startsWith("/v1/traces")) {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          for (const rs of body.resourceSpans ?? []) {
            const resource = attrs(rs.resource?.attributes);
            const service = String(resource["service.name"] ?? "");
            for (const ss of rs.scopeSpans ?? []) {
              for (const s of ss.spans ?? []) {
                received.push({
                  service,
                  traceId: s.traceId,
                  spanId: s.spanId,
                  parentSpanId: s.parentSpanId || undefined,
                  name: s.name,
                  kind: s.kind,
                  attributes: attrs(s.attributes),
                  resource,
                });
              }
            }
          }
        } catch {
          res.writeHead(400).end();
          return;
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
