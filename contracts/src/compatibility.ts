/** What changed between two versions of a contract's JSON Schema. */
export interface SchemaChanges {
  /** Changes that need a new major version: an old event or an old consumer would no longer fit. */
  readonly breaking: string[];
  /** Changes an existing major version may take: new optional fields, loosened bounds. */
  readonly additive: string[];
}

type Schema = { readonly [keyword: string]: unknown };

// Keywords whose value can only go up without rejecting something that was valid before.
const LOWER_BOUNDS = ["minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"] as const;
const UPPER_BOUNDS = ["maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"] as const;
// Keywords where any new or different value restricts what is valid.
const CONSTRAINTS = ["pattern", "format", "multipleOf"] as const;

/**
 * Compares two JSON Schemas (TypeBox output) of the same contract, recursively through
 * object properties, array items and unions. Pure: it looks only at its arguments.
 * Descriptions, titles and examples are ignored.
 */
export function compareSchemas(previous: object, next: object): SchemaChanges {
  const changes: SchemaChanges = { breaking: [], additive: [] };
  compareNode(previous as Schema, next as Schema, "", changes);
  return changes;
}

function compareNode(a: Schema, b: Schema, path: string, out: SchemaChanges): void {
  const before = variantsOf(a);
  const after = variantsOf(b);
  const [onlyBefore] = before;
  const [onlyAfter] = after;
  if (before.length === 1 && after.length === 1 && onlyBefore && onlyAfter) {
    if (!isConst(onlyBefore) && !isConst(onlyAfter)) {
      const from = typeName(onlyBefore);
      const to = typeName(onlyAfter);
      if (from !== to) out.breaking.push(`${at(path)}: type changed from ${from} to ${to}`);
      else compareSameKind(onlyBefore, onlyAfter, path, out);
      return;
    }
  }
  compareUnions(before, after, path, out);
}

/** Matches each old variant with a new one of the same type (or literal value). */
function compareUnions(before: Schema[], after: Schema[], path: string, out: SchemaChanges): void {
  const unmatched = [...after];
  for (const old of before) {
    const index = unmatched.findIndex((candidate) => keyOf(candidate) === keyOf(old));
    const match = unmatched[index];
    if (match === undefined) {
      out.breaking.push(
        isConst(old)
          ? `${at(path)}: value ${show(old)} removed`
          : `${at(path)}: type changed, no longer accepts ${show(old)}`,
      );
      continue;
    }
    unmatched.splice(index, 1);
    compareSameKind(old, match, path, out);
  }
  for (const added of unmatched) {
    // A new literal widens an enumeration like a loosened bound does; a new type (null,
    // number, ...) changes what consumers must handle.
    if (isConst(added)) out.additive.push(`${at(path)}: value ${show(added)} added`);
    else out.breaking.push(`${at(path)}: type changed, now also accepts ${show(added)}`);
  }
}

function compareSameKind(a: Schema, b: Schema, path: string, out: SchemaChanges): void {
  compareBounds(a, b, path, out);
  if (typeName(a) === "object" || a.properties !== undefined || b.properties !== undefined) {
    compareObjects(a, b, path, out);
  }
  if (isSchema(a.items) && isSchema(b.items)) compareNode(a.items, b.items, `${path}[]`, out);
  else if (isSchema(a.items)) out.additive.push(`${at(path)}: item schema removed`);
  else if (isSchema(b.items)) out.breaking.push(`${at(path)}: item schema added`);
}

function compareBounds(a: Schema, b: Schema, path: string, out: SchemaChanges): void {
  for (const keyword of LOWER_BOUNDS) compareBound(keyword, a[keyword], b[keyword], 1, path, out);
  for (const keyword of UPPER_BOUNDS) compareBound(keyword, a[keyword], b[keyword], -1, path, out);
  for (const keyword of CONSTRAINTS) {
    const from = a[keyword];
    const to = b[keyword];
    if (from === to) continue;
    if (from === undefined) out.breaking.push(`${at(path)}: ${keyword} ${JSON.stringify(to)} added`);
    else if (to === undefined) out.additive.push(`${at(path)}: ${keyword} ${JSON.stringify(from)} removed`);
    else {
      out.breaking.push(
        `${at(path)}: ${keyword} changed from ${JSON.stringify(from)} to ${JSON.stringify(to)}`,
      );
    }
  }
  if (a.uniqueItems !== true && b.uniqueItems === true)
    out.breaking.push(`${at(path)}: items must be unique`);
  if (a.uniqueItems === true && b.uniqueItems !== true) out.additive.push(`${at(path)}: items may repeat`);
}

/** `direction` 1: a higher value is tighter (minimum); -1: a lower value is tighter (maximum). */
function compareBound(
  keyword: string,
  from: unknown,
  to: unknown,
  direction: 1 | -1,
  path: string,
  out: SchemaChanges,
): void {
  if (from === to) return;
  if (typeof from !== "number") {
    if (typeof to === "number") out.breaking.push(`${at(path)}: ${keyword} ${to} added`);
    return;
  }
  if (typeof to !== "number") {
    out.additive.push(`${at(path)}: ${keyword} ${from} removed`);
    return;
  }
  const tighter = (to - from) * direction > 0;
  const verb = to > from ? "raised" : "lowered";
  (tighter ? out.breaking : out.additive).push(`${at(path)}: ${keyword} ${verb} from ${from} to ${to}`);
}

function compareObjects(a: Schema, b: Schema, path: string, out: SchemaChanges): void {
  const before = propertiesOf(a);
  const after = propertiesOf(b);
  const requiredBefore = requiredOf(a);
  const requiredAfter = requiredOf(b);
  for (const [name, old] of Object.entries(before)) {
    const field = join(path, name);
    const current = after[name];
    if (current === undefined) {
      out.breaking.push(`${field}: field removed`);
      continue;
    }
    if (!requiredBefore.has(name) && requiredAfter.has(name)) {
      out.breaking.push(`${field}: optional field made required`);
    }
    if (requiredBefore.has(name) && !requiredAfter.has(name)) {
      out.breaking.push(`${field}: required field made optional`);
    }
    compareNode(old, current, field, out);
  }
  for (const name of Object.keys(after)) {
    if (name in before) continue;
    if (requiredAfter.has(name)) out.breaking.push(`${join(path, name)}: new required field`);
    else out.additive.push(`${join(path, name)}: new optional field`);
  }
  const extraBefore = a.additionalProperties;
  const extraAfter = b.additionalProperties;
  if (extraBefore !== false && extraAfter === false) {
    out.breaking.push(`${at(path)}: unknown fields no longer allowed`);
  } else if (extraBefore === false && extraAfter !== false) {
    out.additive.push(`${at(path)}: unknown fields allowed`);
  } else if (isSchema(extraBefore) && isSchema(extraAfter)) {
    compareNode(extraBefore, extraAfter, join(path, "*"), out);
  }
}

/** A schema as the list of alternatives it accepts: unions, enums and type lists flattened. */
function variantsOf(schema: Schema): Schema[] {
  const union = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(union)) return union.filter(isSchema).flatMap(variantsOf);
  if (Array.isArray(schema.enum)) {
    return schema.enum.map((value) => ({ const: value, type: jsonTypeOf(value) }));
  }
  if (Array.isArray(schema.type)) return schema.type.map((type) => ({ ...schema, type }));
  return [schema];
}

const isConst = (schema: Schema): boolean => "const" in schema;

const keyOf = (schema: Schema): string =>
  isConst(schema) ? `const:${JSON.stringify(schema.const)}` : `type:${typeName(schema)}`;

const show = (schema: Schema): string => (isConst(schema) ? JSON.stringify(schema.const) : typeName(schema));

const typeName = (schema: Schema): string => (typeof schema.type === "string" ? schema.type : "any");

function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

const isSchema = (value: unknown): value is Schema =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function propertiesOf(schema: Schema): Record<string, Schema> {
  const properties = schema.properties;
  if (!isSchema(properties)) return {};
  return Object.fromEntries(
    Object.entries(properties).filter((entry): entry is [string, Schema] => isSchema(entry[1])),
  );
}

const requiredOf = (schema: Schema): Set<string> =>
  new Set(Array.isArray(schema.required) ? schema.required.filter((n) => typeof n === "string") : []);

const join = (path: string, name: string): string => (path ? `${path}.${name}` : name);

const at = (path: string): string => path || "(root)";
