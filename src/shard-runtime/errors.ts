// HTTP-facing errors of the shard. Every rejection is a 4xx (or 503) JSON body
// {"error": {"code", "message", "path", ...details}}.
import { CodedError } from '../core/errors.ts';

export class ShardApiError extends CodedError {
  override name = 'ShardApiError';
  readonly status: number;
  /** Where in the request the problem is: a JSON path (`$.ppp_triplet.place`) or a parameter. */
  declare readonly path: string;
  readonly details: Record<string, unknown>;
  constructor(
    status: number,
    code: string,
    message: string,
    path = '$',
    details: Record<string, unknown> = {},
  ) {
    super(code, message, path);
    this.status = status;
    this.details = details;
  }

  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, path: this.path, ...this.details } };
  }
}

/** A query or path parameter that must be a non-negative safe integer. */
export function intParam(raw: unknown, name: string): number {
  if (
    typeof raw !== 'string' ||
    !/^(0|[1-9][0-9]{0,15})$/.test(raw) ||
    !Number.isSafeInteger(Number(raw))
  ) {
    throw new ShardApiError(400, 'bad_parameter', `${name} must be a non-negative integer`, name);
  }
  return Number(raw);
}
