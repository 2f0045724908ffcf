import { FormatRegistry } from "@sinclair/typebox";

// TypeBox validates `format` only for formats registered here; registering is idempotent.
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isCalendarDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
}

const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/i;

// Date.parse rolls 2024-02-30 over to March 1st, so the calendar date is checked on its own.
function isDateTime(value: string): boolean {
  const match = DATE_TIME.exec(value);
  return match !== null && isCalendarDate(match[1]!) && !Number.isNaN(Date.parse(value));
}

if (!FormatRegistry.Has("date")) FormatRegistry.Set("date", isCalendarDate);
if (!FormatRegistry.Has("date-time")) FormatRegistry.Set("date-time", isDateTime);

export { isCalendarDate, isDateTime };
