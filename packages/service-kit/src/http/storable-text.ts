// PostgreSQL stores neither NUL in text nor a lone UTF-16 surrogate in jsonb (the outbox
// payload): such input would fail deep in a transaction as a 500. Refused at the edge instead.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching NUL is the point.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** False for text PostgreSQL cannot store (NUL, an unpaired surrogate): such an id names nothing. */
export const isStorableText = (text: string): boolean => !UNSTORABLE.test(text);

/**
 * True when some string in `value` (keys included, at any depth) contains NUL or an unpaired
 * surrogate. Walks with an explicit stack: a deeply nested body must not overflow the call stack.
 */
export function containsUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (UNSTORABLE.test(v)) return true;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (v !== null && typeof v === "object") {
      for (const [key, item] of Object.entries(v)) {
        if (UNSTORABLE.test(key)) return true;
        stack.push(item);
      }
    }
  }
  return false;
}
