// Typed errors of the client layer. Callers branch on `code`.
import { CodedError } from '../core/errors.ts';

export type ClientErrorCode =
  'bad_config' | 'bad_trust_bundle' | 'http_timeout' | 'http_status' | 'http_network' | 'http_body';

/** Bad client configuration (a shard list, a trust bundle) or a failed request. */
export class ClientError extends CodedError<ClientErrorCode> {
  override name = 'ClientError';
}

/** An HTTP request that did not produce a usable answer. */
export class HttpError extends ClientError {
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
