export type HttpErrorCode =
  /** The server could not listen: the port is taken, the address is not local, no permission. */
  "WITNZ_HTTP_LISTEN";

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  constructor(code: HttpErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HttpError";
    this.code = code;
  }
}
