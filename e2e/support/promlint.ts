// The Prometheus text exposition format (0.0.4) read as Prometheus reads it, and the rules
// `promtool check metrics` applies (client_golang's promlint), for machines without promtool.

export interface MetricFamily {
  name: string;
  type: string;
  help: string | undefined;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/gy;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const [all, key, value] = m as unknown as [string, string, string];
    if (key in labels) throw new Error(`duplicate label ${key}: ${line}`);
    labels[key] = value.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    consumed += all.length;
    if (consumed >= text.length) break;
  }
  if (consumed !== text.length) throw new Error(`malformed labels: ${line}`);
  return labels;
}

/** Parses the text format strictly: a malformed line, a sample before its TYPE or twice a family throws. */
export function parseExposition(text: string): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: "untyped", help: undefined, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const seenSeries = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const meta = /^# (HELP|TYPE) ([^ ]+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name, rest = ""] = meta as unknown as [string, string, string, string | undefined];
      if (!NAME.test(name)) throw new Error(`invalid metric name: ${line}`);
      const f = family(name);
      if (kind === "TYPE") {
        if (!TYPES.has(rest) || f.samples.length > 0) throw new Error(`bad or late TYPE: ${line}`);
        f.type = rest;
      } else f.help = rest;
      continue;
    }
    if (line.startsWith("#")) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)(?: (-?[0-9]+))?$/.exec(line);
    if (!sample) throw new Error(`malformed sample: ${line}`);
    const [, name, labelText = "", valueText] = sample as unknown as [
      string,
      string,
      string | undefined,
      string,
    ];
    const labels = parseLabels(labelText, line);
    for (const key of Object.keys(labels)) if (!LABEL.test(key)) throw new Error(`bad label ${key}: ${line}`);
    const value = Number(valueText.replace(/^\+?Inf$/, "Infinity").replace(/^-Inf$/, "-Infinity"));
    if (Number.isNaN(value) && valueText !== "NaN") throw new Error(`bad value: ${line}`);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(series)) throw new Error(`duplicate series: ${line}`);
    seenSeries.add(series);
    const base = [...families.keys()].find(
      (f) => name === f || ["_bucket", "_sum", "_count", "_total", "_created"].some((s) => name === f + s),
    );
    family(base ?? name).samples.push({ name, labels, value });
  }
  return [...families.values()];
}

// promlint splits a name on "_" and checks each part against these.
const UNIT_ABBREVIATIONS = new Set([
  "s",
  "ms",
  "us",
  "ns",
  "sec",
  "b",
  "kb",
  "mb",
  "gb",
  "tb",
  "pb",
  "m",
  "h",
  "d",
]);
const NON_BASE_UNITS: Record<string, string> = {
  milliseconds: "seconds",
  microseconds: "seconds",
  nanoseconds: "seconds",
  minutes: "seconds",
  hours: "seconds",
  days: "seconds",
  kilobytes: "bytes",
  megabytes: "bytes",
  gigabytes: "bytes",
  terabytes: "bytes",
  percent: "ratio",
};

/** The problems `promtool check metrics` reports for these families (promlint's rules). */
export function promlintProblems(families: readonly MetricFamily[]): string[] {
  const problems: string[] = [];
  const report = (name: string, text: string) => problems.push(`${name}: ${text}`);
  for (const f of families) {
    const { name, type } = f;
    if (f.help === undefined || f.help === "") report(name, "no help text");
    if (type === "counter" && !name.endsWith("_total"))
      report(name, `counter metrics should have "_total" suffix`);
    if (type !== "counter" && name.endsWith("_total"))
      report(name, `non-counter metrics should not have "_total" suffix`);
    if (type !== "histogram" && type !== "summary" && /_(count|sum|bucket)$/.test(name))
      report(name, "non-histogram and non-summary metrics should not have reserved suffixes");
    if (/_(gauge|counter|histogram|summary|untyped)(_|$)/.test(name))
      report(name, "metric name should not include type");
    if (name.includes(":")) report(name, "metric names should not contain ':'");
    if (/[a-z][A-Z]/.test(name))
      report(name, "metric names should be written in 'snake_case' not 'camelCase'");
    for (const part of name.split("_")) {
      const base = NON_BASE_UNITS[part];
      if (base) report(name, `use base unit "${base}" instead of "${part}"`);
      if (UNIT_ABBREVIATIONS.has(part))
        report(name, `metric names should not contain abbreviated units (${part})`);
    }
    for (const s of f.samples) {
      for (const label of Object.keys(s.labels)) {
        if (/[a-z][A-Z]/.test(label))
          report(name, `label names should be written in 'snake_case' not 'camelCase' (${label})`);
        if (label === "le" && type !== "histogram")
          report(name, `non-histogram metrics should not have "le" label`);
        if (label === "quantile" && type !== "summary")
          report(name, `non-summary metrics should not have "quantile" label`);
      }
    }
  }
  return [...new Set(problems)];
}
