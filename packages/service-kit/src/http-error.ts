/**
 * An expected HTTP outcome thrown by a route: answered as `status` with
 * `{"error": code, "message": message}` by the app's error handler.
 */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
