/** An HTTP answer with its body parsed as JSON when it is JSON (else the raw text). */
export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A thin fetch wrapper: never throws on a 4xx/5xx (tests assert the status), only when the
 * connection itself fails.
 */
export async function request<T = unknown>(
  method: string,
  url: string,
  { body, headers = {} }: RequestOptions = {},
): Promise<HttpResult<T>> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get("content-type") ?? "").includes("json") && text !== "") {
    parsed = JSON.parse(text);
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
