// The one place that talks HTTP to Vault (or OpenBao): node-vault's generic `read`/`write`/
// `delete` with a per-request token and timeout, every failure turned into a typed
// VaultRequestError. node-vault reads VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_PREFIX and
// VAULT_SKIP_VERIFY from the environment when its options are empty; everything is set here
// explicitly so only the configuration given decides.
import vault from 'node-vault';
import { CodedError } from '../core/errors.ts';

export interface VaultConnection {
  /** http(s)://host:port of Vault. */
  readonly address: string;
  /** PEM of the CA that signs Vault's serving certificate (https); the system CAs otherwise. */
  readonly caPem?: string | undefined;
  /** Per-request timeout. */
  readonly timeoutMs: number;
}

export type VaultRequestErrorCode =
  /** No answer (connection refused, reset, timed out, TLS failure): Vault is down or unreachable. */
  | 'vault_unreachable'
  /** 403: the token is not allowed to do this (or is no longer valid). */
  | 'vault_denied'
  /** Another 4xx: the request itself is wrong (unknown key, version trimmed, bad role). */
  | 'vault_rejected'
  /** 5xx (including 503 sealed / standby). */
  | 'vault_failed';

export class VaultRequestError extends CodedError<VaultRequestErrorCode> {
  override name = 'VaultRequestError';
  /** HTTP status, when Vault answered. */
  readonly status: number | undefined;
  /** The API path asked, e.g. `transit/sign/agdr_ns_c_shard-0`. */
  declare readonly path: string;
  constructor(
    code: VaultRequestErrorCode,
    path: string,
    status: number | undefined,
    message: string,
  ) {
    super(code, `vault ${path}: ${message}`, path);
    this.status = status;
  }
}

/** Where a request gets its Vault token (static, or logged in and renewed). */
export interface VaultTokenProvider {
  token(): Promise<string>;
  /** Vault refused the token (403): obtain a fresh one before the next request, if possible. */
  denied(): boolean;
}

type Method = 'read' | 'write' | 'delete';

function toRequestError(path: string, err: unknown): VaultRequestError {
  const status = (err as { response?: { statusCode?: unknown } }).response?.statusCode;
  if (typeof status === 'number') {
    const message = (err as Error).message || `status ${status}`;
    if (status === 403) return new VaultRequestError('vault_denied', path, status, message);
    if (status >= 400 && status < 500) {
      return new VaultRequestError('vault_rejected', path, status, message);
    }
    return new VaultRequestError('vault_failed', path, status, message);
  }
  const code = (err as { code?: unknown }).code;
  const why = typeof code === 'string' ? code : (err as Error).message;
  return new VaultRequestError('vault_unreachable', path, undefined, `no answer (${why})`);
}

export class VaultClient {
  readonly address: string;
  readonly #raw: vault.client;
  readonly #timeoutMs: number;

  constructor(conn: VaultConnection) {
    this.address = conn.address.replace(/\/$/, '');
    this.#timeoutMs = conn.timeoutMs;
    this.#raw = vault({
      apiVersion: 'v1',
      endpoint: this.address,
      pathPrefix: '',
      // node-vault's debug output (DEBUG=node-vault) would print request bodies: JWTs at login.
      debug: () => undefined,
      // strictSSL pinned: VAULT_SKIP_VERIFY in the environment must not turn TLS checks off.
      requestOptions: {
        strictSSL: true,
        timeout: conn.timeoutMs,
        ...(conn.caPem !== undefined ? { ca: conn.caPem } : {}),
      },
    });
    // Empty options fall back to the environment inside node-vault; pin them.
    this.#raw.token = '';
    (this.#raw as unknown as { namespace: string }).namespace = '';
    (this.#raw as unknown as { pathPrefix: string }).pathPrefix = '';
  }

  /** One request with `token` (none for a login). */
  async request(
    method: Method,
    path: string,
    token: string | undefined,
    data?: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const options = { headers: token ? { 'X-Vault-Token': token } : {}, timeout: this.#timeoutMs };
    try {
      const body: unknown =
        method === 'read'
          ? await this.#raw.read(path, options)
          : method === 'write'
            ? await this.#raw.write(path, data ?? {}, options)
            : await this.#raw.delete(path, options);
      return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    } catch (err) {
      throw toRequestError(path, err);
    }
  }
}

/** A VaultClient bound to a token provider: what the signer and the provisioner use. */
export class VaultSession {
  readonly client: VaultClient;
  readonly #tokens: VaultTokenProvider;

  constructor(client: VaultClient, tokens: VaultTokenProvider) {
    this.client = client;
    this.#tokens = tokens;
  }

  read(path: string): Promise<Record<string, unknown>> {
    return this.#call('read', path);
  }

  write(path: string, data: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.#call('write', path, data);
  }

  delete(path: string): Promise<Record<string, unknown>> {
    return this.#call('delete', path);
  }

  // A 403 may mean the token expired or was revoked: one retry with a fresh token, if the
  // provider can get one; a second 403 is a real refusal.
  async #call(
    method: Method,
    path: string,
    data?: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    try {
      return await this.client.request(method, path, await this.#tokens.token(), data);
    } catch (err) {
      if (!(err instanceof VaultRequestError) || err.code !== 'vault_denied') throw err;
      if (!this.#tokens.denied()) throw err;
      return await this.client.request(method, path, await this.#tokens.token(), data);
    }
  }
}
