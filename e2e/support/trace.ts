import type { ReceivedSpan } from "@stockflow/testkit";

/** OTLP SpanKind numbers. */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

export interface SpanQuery {
  name?: string | ((name: string) => boolean);
  service?: string;
  kind?: number;
  attributes?: Record<string, string | number | boolean>;
}

/** The spans of one trace as the receiver got them, with the lookups a test needs. */
export class ReceivedTrace {
  constructor(
    readonly traceId: string,
    readonly spans: readonly ReceivedSpan[],
  ) {}

  static of(all: readonly ReceivedSpan[], traceId: string): ReceivedTrace {
    return new ReceivedTrace(
      traceId,
      all.filter((s) => s.traceId === traceId),
    );
  }

  findAll(query: SpanQuery): ReceivedSpan[] {
    return this.spans.filter((s) => {
      if (typeof query.name === "string" && s.name !== query.name) return false;
      if (typeof query.name === "function" && !query.name(s.name)) return false;
      if (query.service !== undefined && s.service !== query.service) return false;
      if (query.kind !== undefined && s.kind !== query.kind) return false;
      return Object.entries(query.attributes ?? {}).every(([k, v]) => s.attributes[k] === v);
    });
  }

  find(query: SpanQuery): ReceivedSpan | undefined {
    return this.findAll(query)[0];
  }

  /** Like `find`, but throws with the whole trace printed when nothing matches. */
  get(query: SpanQuery): ReceivedSpan {
    const span = this.find(query);
    if (!span)
      throw new Error(`no span ${describeQuery(query)} in trace ${this.traceId}:\n${this.describe()}`);
    return span;
  }

  /** True when `ancestor` is on the parent chain of `span`. */
  descendsFrom(span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
    const byId = new Map(this.spans.map((s) => [s.spanId, s]));
    let current: ReceivedSpan | undefined = span;
    for (let hops = 0; current && hops < 100; hops++) {
      if (current.parentSpanId === ancestor.spanId) return true;
      current = current.parentSpanId ? byId.get(current.parentSpanId) : undefined;
    }
    return false;
  }

  services(): string[] {
    return [...new Set(this.spans.map((s) => s.service))].sort();
  }

  /** One line per span, indented under its parent: for failure messages. */
  describe(): string {
    const children = new Map<string | undefined, ReceivedSpan[]>();
    const ids = new Set(this.spans.map((s) => s.spanId));
    for (const s of this.spans) {
      const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : undefined;
      children.set(parent, [...(children.get(parent) ?? []), s]);
    }
    const lines: string[] = [];
    const walk = (parent: string | undefined, depth: number) => {
      for (const s of children.get(parent) ?? []) {
        lines.push(
          `${"  ".repeat(depth)}[${s.service}] kind=${s.kind} ${s.name} ${s.spanId}<-${s.parentSpanId ?? "root"}`,
        );
        walk(s.spanId, depth + 1);
      }
    };
    walk(undefined, 0);
    return lines.join("\n");
  }
}

function describeQuery(q: SpanQuery): string {
  const name = typeof q.name === "function" ? "(matching)" : (q.name ?? "*");
  return `"${name}" service=${q.service ?? "*"} kind=${q.kind ?? "*"}${q.attributes ? ` ${JSON.stringify(q.attributes)}` : ""}`;
}

/** The PRODUCER span a service makes when it publishes `subject`. */
export const producerSpan = (service: string, subject: string): SpanQuery => ({
  service,
  kind: SpanKind.PRODUCER,
  name: `send ${subject}`,
});

/** The CONSUMER span a service makes when it handles `subject`. */
export const consumerSpan = (service: string, subject: string): SpanQuery => ({
  service,
  kind: SpanKind.CONSUMER,
  name: `process ${subject}`,
});

/** A service's HTTP SERVER spans for POST requests. */
export const postServerSpan = (service: string): SpanQuery => ({
  service,
  kind: SpanKind.SERVER,
  name: (n) => n.startsWith("POST"),
});
