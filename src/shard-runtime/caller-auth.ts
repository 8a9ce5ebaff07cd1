// Who may append to this shard, and who may read its records (docs/API.md, "Authentication").
// Off by default. With `serviceAccountToken`, a request carries a Kubernetes ServiceAccount
// token (`Authorization: Bearer`), verified here against the issuer keys the operator
// publishes (core/service-account-token.ts): no API server call, no API rights for the shard.
// Checked once per request, before its body is read; a token seen before is looked up, not
// verified again, until it expires or the keys change.
import fs from 'node:fs';
import type { Logger } from 'pino';
import { FieldError } from '../core/errors.ts';
import {
  MAX_TOKEN_LENGTH,
  TokenError,
  claimsOf,
  parseIssuerKeys,
  serviceAccountOf,
  subjectAllowed,
  subjectName,
  verifyJws,
} from '../core/service-account-token.ts';
import type {
  IssuerKeys,
  ServiceAccountSubject,
  SubjectPattern,
} from '../core/service-account-token.ts';
import { ShardApiError } from './errors.ts';
import type { ShardMetrics } from './metrics.ts';

export const AUTH_MODES = ['none', 'serviceAccountToken'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export const READ_ACCESS = ['open', 'authenticated'] as const;
export type ReadAccess = (typeof READ_ACCESS)[number];

export interface CallerAuthConfig {
  mode: AuthMode;
  /** The issuer keys document (core IssuerKeysDocument), re-read when it changes. */
  issuerKeysFile?: string;
  /** The audience tokens must be issued for (per cluster: `agdr.dev/<namespace>/<cluster>`). */
  audience?: string;
  /** Who may append. */
  writers: SubjectPattern[];
  /** `authenticated`: reading records needs a token of a reader (or a writer). */
  reads: ReadAccess;
  readers: SubjectPattern[];
}

export const NO_CALLER_AUTH: Readonly<CallerAuthConfig> = Object.freeze({
  mode: 'none',
  writers: [],
  reads: 'open',
  readers: [],
});

export class CallerAuthError extends FieldError<'invalid_auth_config'> {
  override name = 'CallerAuthError';
  constructor(path: string, message: string) {
    super('invalid_auth_config', path, message);
  }
}

/** Throws CallerAuthError for a configuration the shard could not enforce. */
export function checkCallerAuthConfig(c: CallerAuthConfig): void {
  if (c.mode === 'none') {
    if (c.reads === 'authenticated')
      throw new CallerAuthError(
        'auth.reads',
        'authenticated reads need an authentication mode (serviceAccountToken)',
      );
    return;
  }
  if (c.issuerKeysFile === undefined)
    throw new CallerAuthError('auth.issuerKeysFile', 'serviceAccountToken needs the issuer keys');
  if (c.audience === undefined || c.audience === '')
    throw new CallerAuthError('auth.audience', 'serviceAccountToken needs an audience');
  if (c.writers.length === 0)
    throw new CallerAuthError(
      'auth.writers',
      'serviceAccountToken needs at least one ServiceAccount (or namespace) allowed to append',
    );
}

export type AuthAction = 'append' | 'read';

/** What a failed check is counted as (`agdr_shard_auth_failures_total{reason}`). */
export type AuthFailureReason = 'missing_token' | TokenError['code'] | 'forbidden';

function readIssuerKeys(file: string): IssuerKeys {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CallerAuthError(file, `cannot read the issuer keys: ${(err as Error).message}`);
  }
  try {
    return parseIssuerKeys(JSON.parse(text));
  } catch (err) {
    throw new CallerAuthError(file, (err as Error).message);
  }
}

/** Tokens remembered as verified; the map is emptied when it reaches this many. */
const VERIFIED_CACHE_SIZE = 4096;
/** Failures of one reason are logged at most once per this many ms (all are counted). */
const LOG_EVERY_MS = 10_000;
/** Clock skew allowed on exp/nbf, seconds (as the API server allows). */
const LEEWAY_SECONDS = 60;

export class CallerAuth {
  readonly config: Readonly<CallerAuthConfig>;
  #keys: IssuerKeys | undefined;
  #keysText = '';
  readonly #verified = new Map<string, ServiceAccountSubject>();
  readonly #metrics: ShardMetrics;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #lastLogged = new Map<string, { at: number; suppressed: number }>();
  readonly #onStat = (): void => {
    this.reload();
  };
  #watching = false;

  /** Loads the issuer keys now; throws CallerAuthError if they are missing or invalid. */
  constructor(
    config: CallerAuthConfig,
    deps: { metrics: ShardMetrics; logger: Logger; now?: () => number },
  ) {
    checkCallerAuthConfig(config);
    this.config = config;
    this.#metrics = deps.metrics;
    this.#logger = deps.logger;
    this.#now = deps.now ?? Date.now;
    if (config.mode === 'serviceAccountToken') {
      const file = config.issuerKeysFile as string;
      this.#keys = readIssuerKeys(file);
      this.#keysText = fs.readFileSync(file, 'utf8');
    }
  }

  get issuer(): string | undefined {
    return this.#keys?.issuer;
  }

  /** Re-reads the issuer keys; keeps the current ones if the new file is invalid. */
  reload(): boolean {
    const file = this.config.issuerKeysFile;
    if (file === undefined) return false;
    let text: string;
    let keys: IssuerKeys;
    try {
      text = fs.readFileSync(file, 'utf8');
      if (text === this.#keysText) return false;
      keys = readIssuerKeys(file);
    } catch (err) {
      this.#logger.error({ err: (err as Error).message, file }, 'issuer keys reload refused');
      return false;
    }
    this.#keys = keys;
    this.#keysText = text;
    // A key withdrawn by the issuer must stop vouching for tokens at once.
    this.#verified.clear();
    this.#logger.info(
      { file, issuer: keys.issuer, keys: keys.keys.length },
      'issuer keys reloaded',
    );
    return true;
  }

  watch(intervalMs: number): void {
    if (this.#watching || this.config.issuerKeysFile === undefined) return;
    this.#watching = true;
    fs.watchFile(
      this.config.issuerKeysFile,
      { interval: intervalMs, persistent: false },
      this.#onStat,
    );
  }

  close(): void {
    if (this.#watching && this.config.issuerKeysFile !== undefined)
      fs.unwatchFile(this.config.issuerKeysFile, this.#onStat);
    this.#watching = false;
  }

  /** Whether `action` needs a token at all under this configuration. */
  guards(action: AuthAction): boolean {
    if (this.config.mode === 'none') return false;
    return action === 'append' || this.config.reads === 'authenticated';
  }

  /**
   * Throws ShardApiError 401 (no token, or one that proves nothing) or 403 (a valid token of a
   * ServiceAccount not allowed to `action`). Returns the caller, or undefined when unguarded.
   */
  check(
    authorization: string | undefined,
    action: AuthAction,
    remote: string | undefined,
  ): ServiceAccountSubject | undefined {
    if (!this.guards(action)) return undefined;
    const token = bearerToken(authorization);
    if (token === undefined)
      this.#fail(
        'missing_token',
        action,
        remote,
        undefined,
        401,
        'unauthenticated',
        `this shard needs a ServiceAccount token: send Authorization: Bearer <token> (audience ${this.config.audience})`,
      );
    let subject: ServiceAccountSubject;
    try {
      subject = this.#subjectOf(token as string);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      this.#fail(err.code, action, remote, undefined, 401, 'invalid_token', err.message);
    }
    const c = this.config;
    const allowed =
      subjectAllowed(subject, c.writers) ||
      (action === 'read' && subjectAllowed(subject, c.readers));
    if (!allowed)
      this.#fail(
        'forbidden',
        action,
        remote,
        subject,
        403,
        'forbidden',
        `ServiceAccount ${subjectName(subject)} may not ${action === 'append' ? 'append to' : 'read'} this shard`,
      );
    return subject;
  }

  #subjectOf(token: string): ServiceAccountSubject {
    const nowS = this.#now() / 1000;
    const seen = this.#verified.get(token);
    if (seen !== undefined) {
      if (nowS < seen.expiresAt + LEEWAY_SECONDS) return seen;
      this.#verified.delete(token);
      throw new TokenError('expired', 'the token has expired');
    }
    const keys = this.#keys as IssuerKeys;
    const subject = serviceAccountOf(claimsOf(verifyJws(token, keys)), {
      issuer: keys.issuer,
      audience: this.config.audience as string,
      now: nowS,
      leewaySeconds: LEEWAY_SECONDS,
    });
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.clear();
    this.#verified.set(token, subject);
    return subject;
  }

  #fail(
    reason: AuthFailureReason,
    action: AuthAction,
    remote: string | undefined,
    subject: ServiceAccountSubject | undefined,
    status: 401 | 403,
    code: string,
    message: string,
  ): never {
    this.#metrics.authFailures.inc({ reason, action });
    const now = this.#now();
    const last = this.#lastLogged.get(reason);
    if (last === undefined || now - last.at >= LOG_EVERY_MS) {
      // The token is never logged: only why it failed and who it named, if it verified.
      this.#logger.warn(
        {
          reason,
          action,
          remote,
          ...(subject !== undefined ? { subject: subjectName(subject), pod: subject.pod } : {}),
          ...(last !== undefined && last.suppressed > 0 ? { suppressed: last.suppressed } : {}),
        },
        `request refused: ${message}`,
      );
      this.#lastLogged.set(reason, { at: now, suppressed: 0 });
    } else last.suppressed++;
    throw new ShardApiError(status, code, message, 'Authorization', { reason });
  }
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 2.1), if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length > MAX_TOKEN_LENGTH + 7) return undefined;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return m?.[1];
}
