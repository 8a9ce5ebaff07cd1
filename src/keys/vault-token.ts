// Vault tokens for a process: a fixed token (development), or a JWT login with the pod's
// projected ServiceAccount token that is renewed before it expires and replaced by a fresh login
// (re-reading the token file, which kubelet rotates) once renewal stops extending it. Tokens and
// JWTs never appear in errors or log lines.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { CodedError } from '../core/errors.ts';
import { VaultRequestError, type VaultClient, type VaultTokenProvider } from './vault-client.ts';

export class VaultLoginError extends CodedError<'token_file_unreadable' | 'malformed_login'> {
  override name = 'VaultLoginError';
}

/** A fixed token, e.g. a development server's root token. */
export class StaticToken implements VaultTokenProvider {
  readonly #token: string;
  constructor(token: string) {
    this.#token = token;
  }
  token(): Promise<string> {
    return Promise.resolve(this.#token);
  }
  denied(): boolean {
    return false;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** What a login or renewal answered (the `auth` block), without the token itself. */
export interface TokenLease {
  /** When it was obtained, ms since the epoch. */
  readonly obtainedAtMs: number;
  /** Lease of this answer, seconds; 0: the token does not expire. */
  readonly leaseSeconds: number;
  readonly renewable: boolean;
  /** Lease the login gave; renewals that give much less mean max_ttl is near. */
  readonly loginLeaseSeconds: number;
}

export interface TokenStep {
  readonly kind: 'renew' | 'login';
  readonly atMs: number;
}

/**
 * When and how to refresh a token: at two thirds of its lease, a renewal while renewals still
 * extend it by more than half the login's lease, a fresh login otherwise (Vault caps renewals at
 * the role's token_max_ttl, so the last ones grow short and one more would find it expired).
 * Undefined for a token that does not expire.
 */
export function nextTokenStep(lease: TokenLease): TokenStep | undefined {
  if (lease.leaseSeconds <= 0) return undefined;
  const atMs = lease.obtainedAtMs + Math.max(200, Math.round((lease.leaseSeconds * 2000) / 3));
  const renewalWorthIt = lease.renewable && lease.leaseSeconds * 2 > lease.loginLeaseSeconds;
  return { kind: renewalWorthIt ? 'renew' : 'login', atMs };
}

export interface JwtLoginOptions {
  readonly client: VaultClient;
  /** Mount path of the JWT auth method (default `jwt`). */
  readonly mount: string;
  readonly role: string;
  /** Projected ServiceAccount token file (audience for Vault); re-read at every login. */
  readonly tokenFile: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Held {
  readonly token: string;
  readonly lease: TokenLease;
}

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** A 403 within this long of a login is a real refusal, not an expired token. */
const FRESH_LOGIN_MS = 5000;

function authOf(
  body: Record<string, unknown>,
  what: string,
): { token: string; lease: number; renewable: boolean } {
  const auth = body.auth as {
    client_token?: unknown;
    lease_duration?: unknown;
    renewable?: unknown;
  } | null;
  if (
    typeof auth !== 'object' ||
    auth === null ||
    typeof auth.client_token !== 'string' ||
    auth.client_token.length === 0 ||
    typeof auth.lease_duration !== 'number'
  ) {
    throw new VaultLoginError('malformed_login', `${what} answered without a token`);
  }
  return {
    token: auth.client_token,
    lease: auth.lease_duration,
    renewable: auth.renewable === true,
  };
}

/** Vault JWT auth with a (kubelet-rotated) ServiceAccount token file; renews and re-logs in. */
export class JwtLogin implements VaultTokenProvider {
  readonly #o: JwtLoginOptions;
  readonly #now: () => number;
  #held: Held | undefined;
  #loggingIn: Promise<string> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: JwtLoginOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** A token that is valid now: the held one, or a fresh login. */
  token(): Promise<string> {
    const held = this.#held;
    if (held !== undefined && !this.#expired(held.lease)) return Promise.resolve(held.token);
    return this.login();
  }

  denied(): boolean {
    const held = this.#held;
    if (held === undefined || this.#now() - held.lease.obtainedAtMs < FRESH_LOGIN_MS) return false;
    this.#held = undefined;
    this.#o.logger.warn({ role: this.#o.role }, 'Vault refused the token; logging in again');
    return true;
  }

  /** Logs in now (one login at a time); the token file is read afresh. */
  login(): Promise<string> {
    this.#loggingIn ??= this.#login().finally(() => {
      this.#loggingIn = undefined;
    });
    return this.#loggingIn;
  }

  async #login(): Promise<string> {
    const { client, mount, role, tokenFile, logger } = this.#o;
    let jwt: string;
    try {
      jwt = (await readFile(tokenFile, 'utf8')).trim();
    } catch (err) {
      throw new VaultLoginError(
        'token_file_unreadable',
        `cannot read the ServiceAccount token ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const obtainedAtMs = this.#now();
    const auth = authOf(
      await client.request('write', `auth/${mount}/login`, undefined, { role, jwt }),
      `auth/${mount}/login`,
    );
    this.#hold(auth.token, {
      obtainedAtMs,
      leaseSeconds: auth.lease,
      renewable: auth.renewable,
      loginLeaseSeconds: auth.lease,
    });
    logger.info({ role, mount, lease_seconds: auth.lease }, 'logged in to Vault');
    return auth.token;
  }

  async #renew(held: Held): Promise<void> {
    const obtainedAtMs = this.#now();
    const auth = authOf(
      await this.#o.client.request('write', 'auth/token/renew-self', held.token, {}),
      'auth/token/renew-self',
    );
    this.#hold(auth.token, {
      obtainedAtMs,
      leaseSeconds: auth.lease,
      renewable: auth.renewable,
      loginLeaseSeconds: held.lease.loginLeaseSeconds,
    });
    this.#o.logger.debug({ lease_seconds: auth.lease }, 'renewed Vault token');
  }

  #expired(lease: TokenLease): boolean {
    return lease.leaseSeconds > 0 && this.#now() >= lease.obtainedAtMs + lease.leaseSeconds * 1000;
  }

  #hold(token: string, lease: TokenLease): void {
    this.#held = { token, lease };
    this.#failures = 0;
    this.#schedule(nextTokenStep(lease));
  }

  #schedule(step: TokenStep | undefined): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (step === undefined || this.#closed) return;
    this.#timer = setTimeout(
      () => void this.#refresh(step.kind),
      Math.max(0, step.atMs - this.#now()),
    );
    this.#timer.unref();
  }

  async #refresh(kind: TokenStep['kind']): Promise<void> {
    const held = this.#held;
    try {
      if (kind === 'renew' && held !== undefined) await this.#renew(held);
      else await this.login();
    } catch (err) {
      // A failed renewal falls back to a login; a failed login (Vault down) is retried with
      // backoff, and a request in between logs in on its own once the token has expired.
      this.#failures++;
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.#failures - 1));
      this.#o.logger.warn(
        { err: (err as Error).message, code: (err as { code?: unknown }).code, retry_ms: delay },
        kind === 'renew' ? 'Vault token renewal failed; logging in again' : 'Vault login failed',
      );
      this.#schedule({ kind: 'login', atMs: this.#now() + (kind === 'renew' ? 0 : delay) });
    }
  }

  /** Stops refreshing and revokes the held token (best effort: Vault may be down). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#schedule(undefined);
    const held = this.#held;
    this.#held = undefined;
    if (held === undefined) return;
    try {
      await this.#o.client.request('write', 'auth/token/revoke-self', held.token, {});
    } catch (err) {
      const code = err instanceof VaultRequestError ? err.code : undefined;
      this.#o.logger.warn(
        { err: (err as Error).message, code },
        'could not revoke the Vault token',
      );
    }
  }
}
