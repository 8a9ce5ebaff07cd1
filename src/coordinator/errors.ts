// Typed errors of the coordinator and its HTTP client. Callers branch on `code`.

export type CoordinatorErrorCode =
  | 'bad_config'
  | 'bad_trust_bundle'
  | 'bad_routing'
  | 'global_log_failed'
  | 'stopped'
  | 'http_timeout'
  | 'http_status'
  | 'http_network'
  | 'http_body'
  | 'not_found';

export class CoordinatorError extends Error {
  override name = 'CoordinatorError';
  readonly code: CoordinatorErrorCode;
  /** For bad input: where in the input the problem is (a JSON path or a file path). */
  readonly path: string | undefined;
  constructor(code: CoordinatorErrorCode, message: string, path?: string) {
    super(message);
    this.code = code;
    this.path = path;
  }
}

/** An HTTP request that did not produce a usable answer. */
export class HttpError extends CoordinatorError {
  override name = 'HttpError';
  readonly url: string;
  readonly status: number | undefined;
  constructor(
    code: 'http_timeout' | 'http_status' | 'http_network' | 'http_body',
    url: string,
    message: string,
    status?: number,
  ) {
    super(code, message);
    this.url = url;
    this.status = status;
  }
}

/** A short human-readable reason for any thrown value. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
