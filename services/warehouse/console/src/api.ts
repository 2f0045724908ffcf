/** The warehouse API as the console uses it: same origin, staff token in the Authorization header only. */
import type { Batch, Dispatch } from "./types.js";

export type Answer<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; error: string; message: string };

const enc = encodeURIComponent;

async function call<T>(
  method: "GET" | "POST",
  path: string,
  token?: string,
  body?: unknown,
): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    return { ok: false, status: 0, error: "network_error", message: "no answer" };
  }
  const parsed: unknown = await res.json().catch(() => undefined);
  if (res.ok) return { ok: true, status: res.status, body: parsed as T };
  const problem = (parsed ?? {}) as { error?: unknown; message?: unknown };
  return {
    ok: false,
    status: res.status,
    error: typeof problem.error === "string" ? problem.error : `http_${res.status}`,
    message: typeof problem.message === "string" ? problem.message : "",
  };
}

export const api = {
  whoami: (token: string) => call<{ actor: string }>("GET", "/staff/whoami", token),
  registerBatch: (token: string, batch: Batch) => call<Batch>("POST", "/batches", token, batch),
  batchesOf: (sku: string) => call<Batch[]>("GET", `/batches?sku=${enc(sku)}`),
  batch: (reference: string) => call<Batch>("GET", `/batches/${enc(reference)}`),
  damage: (token: string, reference: string, qty: number, reason: string | undefined) =>
    call<Batch>("POST", `/batches/${enc(reference)}/damage`, token, reason ? { qty, reason } : { qty }),
  delay: (token: string, reference: string, eta: string) =>
    call<Batch>("POST", `/batches/${enc(reference)}/delay`, token, { eta }),
  dispatchesOf: (orderId: string) => call<Dispatch[]>("GET", `/dispatches?orderId=${enc(orderId)}`),
};
