// Kubernetes ServiceAccount tokens checked without the API server (docs/API.md,
// "Authentication"): a projected token is a JWS (RFC 7515, compact form) signed by the
// cluster's service-account issuer, whose public keys the API server publishes as a JWK Set
// (RFC 7517) at /openid/v1/jwks. The operator copies issuer and keys into a ConfigMap; a shard
// verifies each token's signature against them, then its claims (RFC 7519): issuer, audience,
// expiry, and the ServiceAccount it names. Pure: keys come in as data, the clock as an argument.
import { createPublicKey, verify as verifySignature } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { CodedError, FieldError } from './errors.ts';

export type TokenErrorCode =
  | 'malformed_token'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'not_a_service_account';

/** A token that does not prove who sent it. The message names the claim, never the token. */
export class TokenError extends CodedError<TokenErrorCode> {
  override name = 'TokenError';
}

/** Bad issuer keys (the operator's ConfigMap or a hand-written file). */
export class IssuerKeysError extends FieldError<'invalid_issuer_keys'> {
  override name = 'IssuerKeysError';
  constructor(path: string, message: string) {
    super('invalid_issuer_keys', path, message);
  }
}

/**
 * The algorithms accepted: what Kubernetes signs ServiceAccount tokens with (RS256 for an RSA
 * key, ES256/384/512 for an EC key) and their RSA siblings, plus EdDSA (RFC 8037) for issuers
 * with Ed25519 keys. `none` and the HMAC algorithms are never accepted: a public key is not a
 * shared secret.
 */
const ALGORITHMS = {
  RS256: { kty: 'RSA', hash: 'sha256' },
  RS384: { kty: 'RSA', hash: 'sha384' },
  RS512: { kty: 'RSA', hash: 'sha512' },
  ES256: { kty: 'EC', crv: 'P-256', hash: 'sha256', sigBytes: 64 },
  ES384: { kty: 'EC', crv: 'P-384', hash: 'sha384', sigBytes: 96 },
  ES512: { kty: 'EC', crv: 'P-521', hash: 'sha512', sigBytes: 132 },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', hash: null, sigBytes: 64 },
} as const;
type Algorithm = keyof typeof ALGORITHMS;

/** RSA keys shorter than this are refused (NIST SP 800-131A). */
const MIN_RSA_BITS = 2048;

/** Longest token looked at: Kubernetes tokens are about 1 KiB; this bounds the work. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/** One verification key of the issuer. */
export interface IssuerKey {
  readonly kid: string | undefined;
  /** The JWK's own `alg`, when it names one (the key is then used with that algorithm only). */
  readonly alg: string | undefined;
  readonly kty: string;
  readonly crv: string | undefined;
  readonly key: KeyObject;
}

/** The issuer a token must name and the keys its signature must verify with. */
export interface IssuerKeys {
  readonly issuer: string;
  readonly keys: readonly IssuerKey[];
}

/**
 * The document the operator publishes and a shard reads (`--auth-issuer-keys`): the issuer from
 * the API server's /.well-known/openid-configuration and the `keys` of its /openid/v1/jwks.
 */
export interface IssuerKeysDocument {
  issuer: string;
  keys: JsonWebKey[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks an issuer keys document and imports its keys. Throws IssuerKeysError. */
export function parseIssuerKeys(doc: unknown): IssuerKeys {
  if (!isObject(doc)) throw new IssuerKeysError('$', 'must be an object {issuer, keys}');
  const { issuer, keys } = doc;
  if (typeof issuer !== 'string' || issuer.length === 0)
    throw new IssuerKeysError('$.issuer', 'must be a non-empty string');
  if (!Array.isArray(keys)) throw new IssuerKeysError('$.keys', 'must be an array of JWKs');
  const imported = keys.map((jwk: unknown, i): IssuerKey => {
    const path = `$.keys[${i}]`;
    if (!isObject(jwk)) throw new IssuerKeysError(path, 'must be a JWK object');
    if (jwk.use !== undefined && jwk.use !== 'sig')
      throw new IssuerKeysError(`${path}.use`, `is ${JSON.stringify(jwk.use)}, not "sig"`);
    if ('d' in jwk)
      throw new IssuerKeysError(path, 'is a private key; publish the public key only');
    const kty = jwk.kty;
    if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP')
      throw new IssuerKeysError(`${path}.kty`, 'must be RSA, EC or OKP');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch (err) {
      throw new IssuerKeysError(path, `not a usable public key: ${(err as Error).message}`);
    }
    const bits = key.asymmetricKeyDetails?.modulusLength;
    if (kty === 'RSA' && (bits === undefined || bits < MIN_RSA_BITS))
      throw new IssuerKeysError(path, `an RSA key of ${bits} bits; at least ${MIN_RSA_BITS}`);
    return {
      kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
      alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
      kty,
      crv: typeof jwk.crv === 'string' ? jwk.crv : undefined,
      key,
    };
  });
  return { issuer, keys: imported };
}

const B64URL = /^[A-Za-z0-9_-]+$/;

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('malformed_token', `the token's ${what} is not base64url JSON`);
  }
  if (!isObject(value))
    throw new TokenError('malformed_token', `the token's ${what} is not a JSON object`);
  return value;
}

/** A JWS whose signature verified with one of the issuer's keys. */
export interface VerifiedJws {
  readonly header: Record<string, unknown>;
  /** The payload part as sent (base64url); `claimsOf` reads it as a JWT claims set. */
  readonly payload: string;
}

/**
 * Verifies a JWS in compact serialization against the issuer's keys: the header's `alg` must be
 * one of ALGORITHMS and fit the key; a `kid` picks the key, without one every fitting key is
 * tried. Throws TokenError.
 */
export function verifyJws(token: string, issuer: IssuerKeys): VerifiedJws {
  if (token.length > MAX_TOKEN_LENGTH)
    throw new TokenError('malformed_token', `the token is longer than ${MAX_TOKEN_LENGTH} bytes`);
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p)))
    throw new TokenError('malformed_token', 'not a JWS in compact form (three base64url parts)');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h, 'header');
  const alg = header.alg;
  if (typeof alg !== 'string' || !Object.hasOwn(ALGORITHMS, alg))
    throw new TokenError(
      'unsupported_algorithm',
      `alg ${JSON.stringify(alg)} is not accepted (${Object.keys(ALGORITHMS).join(', ')})`,
    );
  // RFC 7515 4.1.11: a critical extension this verifier does not implement must be refused.
  if (header.crit !== undefined)
    throw new TokenError('unsupported_algorithm', 'the token names critical header extensions');
  const a = ALGORITHMS[alg as Algorithm];
  const kid = header.kid;
  const fitting = issuer.keys.filter(
    (k) =>
      k.kty === a.kty &&
      ('crv' in a ? k.crv === a.crv : true) &&
      (k.alg === undefined || k.alg === alg) &&
      (typeof kid !== 'string' || k.kid === kid),
  );
  if (fitting.length === 0)
    throw new TokenError(
      'unknown_key',
      `no key of the issuer fits the token (alg ${alg}${typeof kid === 'string' ? `, kid ${JSON.stringify(kid)}` : ''}); the issuer's keys may have rotated since they were published`,
    );
  const signature = Buffer.from(s, 'base64url');
  const input = Buffer.from(`${h}.${p}`, 'ascii');
  const ok =
    (!('sigBytes' in a) || signature.length === a.sigBytes) &&
    fitting.some((k) =>
      verifySignature(
        a.hash,
        input,
        a.kty === 'EC' ? { key: k.key, dsaEncoding: 'ieee-p1363' } : k.key,
        signature,
      ),
    );
  if (!ok) throw new TokenError('bad_signature', 'the token signature does not verify');
  return { header, payload: p };
}

/** The JWT claims set a verified JWS carries. Throws TokenError. */
export function claimsOf(jws: VerifiedJws): Record<string, unknown> {
  return decodeJson(jws.payload, 'payload');
}

/** Who a ServiceAccount token speaks for. */
export interface ServiceAccountSubject {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The pod the token was bound to, when it was (for logs only). */
  readonly pod: string | undefined;
  /** `exp`, seconds since the epoch. */
  readonly expiresAt: number;
}

export interface ClaimExpectations {
  readonly issuer: string;
  /** The audience this service is: the token's `aud` must contain it. */
  readonly audience: string;
  /** The current time, seconds since the epoch. */
  readonly now: number;
  /** Clock skew tolerated on `exp` and `nbf`, seconds (Kubernetes allows 60). */
  readonly leewaySeconds?: number;
}

const SA_SUBJECT =
  /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/;

function numericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const v = claims[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new TokenError('malformed_token', `the token's ${name} is not a NumericDate`);
  return v;
}

/**
 * Checks a verified token's claims (RFC 7519 4.1): `iss` is the issuer, `aud` contains the
 * audience, `exp` is required and not past, `nbf` not ahead (both with the leeway), and `sub`
 * names a ServiceAccount. Throws TokenError.
 */
export function serviceAccountOf(
  claims: Record<string, unknown>,
  expect: ClaimExpectations,
): ServiceAccountSubject {
  const leeway = expect.leewaySeconds ?? 60;
  if (claims.iss !== expect.issuer)
    throw new TokenError(
      'wrong_issuer',
      `the token was issued by ${JSON.stringify(claims.iss)}, not ${JSON.stringify(expect.issuer)}`,
    );
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(expect.audience))
    throw new TokenError(
      'wrong_audience',
      `the token is not for audience ${JSON.stringify(expect.audience)}`,
    );
  const exp = numericDate(claims, 'exp');
  if (exp === undefined) throw new TokenError('malformed_token', 'the token has no exp');
  if (expect.now >= exp + leeway) throw new TokenError('expired', 'the token has expired');
  const nbf = numericDate(claims, 'nbf');
  if (nbf !== undefined && expect.now + leeway < nbf)
    throw new TokenError('not_yet_valid', 'the token is not valid yet (nbf)');
  const m = typeof claims.sub === 'string' ? SA_SUBJECT.exec(claims.sub) : null;
  if (m === null)
    throw new TokenError('not_a_service_account', 'the token does not name a ServiceAccount (sub)');
  const k8s = claims['kubernetes.io'];
  const pod = isObject(k8s) && isObject(k8s.pod) ? k8s.pod.name : undefined;
  return {
    namespace: m[1] as string,
    serviceAccount: m[3] as string,
    pod: typeof pod === 'string' ? pod : undefined,
    expiresAt: exp,
  };
}

/** A ServiceAccount, or every ServiceAccount of a namespace (`serviceAccount` absent). */
export interface SubjectPattern {
  readonly namespace: string;
  readonly serviceAccount?: string;
}

export function subjectAllowed(
  subject: Pick<ServiceAccountSubject, 'namespace' | 'serviceAccount'>,
  allowed: readonly SubjectPattern[],
): boolean {
  return allowed.some(
    (p) =>
      p.namespace === subject.namespace &&
      (p.serviceAccount === undefined || p.serviceAccount === subject.serviceAccount),
  );
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

/** `NAMESPACE` or `NAMESPACE/SERVICEACCOUNT` (the form flags take). Throws FieldError. */
export function parseSubjectPattern(text: string, path: string): SubjectPattern {
  const [namespace = '', serviceAccount, extra] = text.split('/');
  if (extra !== undefined || !DNS_LABEL.test(namespace) || namespace.length > 63)
    throw new FieldError('invalid_subject', path, `'${text}' is not NAMESPACE[/SERVICEACCOUNT]`);
  if (serviceAccount === undefined) return { namespace };
  if (!DNS_SUBDOMAIN.test(serviceAccount) || serviceAccount.length > 253)
    throw new FieldError(
      'invalid_subject',
      path,
      `'${serviceAccount}' is not a ServiceAccount name`,
    );
  return { namespace, serviceAccount };
}

/** The subject as logs and messages show it. */
export function subjectName(
  s: Pick<ServiceAccountSubject, 'namespace' | 'serviceAccount'>,
): string {
  return `${s.namespace}/${s.serviceAccount}`;
}

/**
 * The audience a cluster's shards accept unless its spec names one: unique per AgDRCluster, so
 * a token minted for one cluster is refused by every other (and by the API server).
 */
export function clusterAudience(namespace: string, cluster: string): string {
  return `agdr.dev/${namespace}/${cluster}`;
}
