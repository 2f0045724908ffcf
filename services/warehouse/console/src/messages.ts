import type { Batch } from "./types.js";

/** What the person was doing, so a refusal can be told in their terms. */
export interface Attempt {
  reference?: string;
  sku?: string;
  qty?: number;
  eta?: string;
  /** The batch as it is now, when it could be read after a refusal. */
  current?: Batch;
}

const units = (n: number) => `${n} ${n === 1 ? "unit" : "units"}`;

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A date as staff read it ("Fri 10 Jan 2031"), the same whatever the browser's language, so
 * a day cannot be misread as month/day; the tables keep the ISO date beside it.
 */
export function day(iso: string): string {
  const [y, m, d] = iso.split("-").map(Number);
  if (!y || !m || !d) return iso;
  const date = new Date(Date.UTC(y, m - 1, d));
  return `${WEEKDAYS[date.getUTCDay()]} ${d} ${MONTHS[m - 1]} ${y}`;
}

export const whereItIs = (eta: string | null) => (eta === null ? "on hand" : `arriving ${day(eta)}`);

/**
 * Every error code of the warehouse API (and of the service kit under it) as a sentence a
 * person can act on. An unknown code still gets a sentence, with the code for the operators.
 */
export function explain(error: string, message: string, attempt: Attempt = {}): string {
  const ref = attempt.reference ? `batch ${attempt.reference}` : "that batch";
  switch (error) {
    case "unauthorized":
      return "The staff token was not accepted. Enter the current token to go on.";
    case "batch_exists":
      return `A batch with reference ${attempt.reference ?? ""} is already registered. Use another reference, or look that batch up under "Find batches".`;
    case "batch_not_found":
      return `There is no batch with reference ${attempt.reference ?? ""}. Check the reference (upper and lower case count).`;
    case "damage_exceeds_quantity": {
      const holds = attempt.current ? ` holds only ${units(attempt.current.qty)}` : " holds fewer units";
      return `Nothing was changed: ${ref}${holds}, so ${units(attempt.qty ?? 0)} cannot be reported damaged.`;
    }
    case "eta_not_later": {
      const now = attempt.current?.eta ? `, ${day(attempt.current.eta)}` : "";
      return `Nothing was changed: a delay must move the shipment to a day after the one it has now${now}.`;
    }
    case "invalid_quantity":
      return "Nothing was changed: a quantity must be a whole number of at least 1.";
    case "validation_failed":
      return `The service did not accept what was entered. Check the fields and try again (${message}).`;
    case "invalid_json":
    case "unsupported_media_type":
    case "bad_request":
    case "invalid_url":
      return "The request could not be read by the service. Reload the page and try again.";
    case "payload_too_large":
      return "What was entered is too long. Shorten the text and try again.";
    case "not_found":
      return "The service does not know this request; it may be an older version. Reload the page.";
    case "too_many_requests":
      return "Too many requests in a short time. Wait a minute and try again.";
    case "service_unavailable":
      return "The warehouse service cannot reach its database just now. Nothing was changed; try again in a moment.";
    case "internal_error":
      return "Something went wrong inside the warehouse service. Look the batch up to see whether the change was made before trying again, and tell the operators if it happens again.";
    case "network_error":
      return "The warehouse service did not answer. Check the connection and try again.";
    default:
      return `The warehouse service refused the request (code ${error}). Tell the operators if it happens again.`;
  }
}
