import SwaggerParser from "@apidevtools/swagger-parser";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import type { OpenAPI } from "openapi-types";

export interface LintProblem {
  severity: "error" | "warn";
  rule: string;
  where: string;
  message: string;
}

/** Validates the document with swagger-parser (schema + semantics); throws on the first fault. */
export async function validateOpenApi(document: unknown): Promise<void> {
  // swagger-parser dereferences in place: it gets a copy.
  await SwaggerParser.validate(structuredClone(document) as OpenAPI.Document);
}

/** Lints the document with Redocly's `recommended` rule set, as `redocly lint` would. */
export async function redoclyProblems(document: unknown, name: string): Promise<LintProblem[]> {
  const config = await createConfig({ extends: ["recommended"] });
  const problems = await lintFromString({
    source: JSON.stringify(document, null, 2),
    absoluteRef: `${name}.json`,
    config,
  });
  return problems.map((p) => ({
    severity: p.severity === "error" ? "error" : "warn",
    rule: p.ruleId,
    where: p.location[0]?.pointer ?? "",
    message: p.message,
  }));
}

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document read as plain JSON.
type Json = any;
const methods = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

/** Every operation of the document with its path and method. */
export function operationsOf(document: Json): { path: string; method: string; op: Json }[] {
  return Object.entries(document.paths ?? {}).flatMap(([path, item]: [string, Json]) =>
    methods.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })),
  );
}
