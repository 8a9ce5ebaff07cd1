// The service-account issuer's public keys, read from the API server for the clusters that
// authenticate ingest (docs/OPERATOR.md, "Ingest authentication"). One read serves every
// cluster for a while: the keys change only when the cluster's signing keys are rotated, and
// a shard keeps the old set until the ConfigMap changes.
import { CodedError } from '../core/errors.ts';
import type { IssuerKeysDocument } from '../core/service-account-token.ts';
import type { Kube } from './kube.ts';

export class IssuerDiscoveryError extends CodedError<'bad_issuer_discovery'> {
  override name = 'IssuerDiscoveryError';
}

/** Checks the shape of what the API server answered: an issuer URL and a JWK Set. */
export function issuerKeysDocument(issuer: unknown, jwks: unknown): IssuerKeysDocument {
  if (typeof issuer !== 'string' || issuer === '')
    throw new IssuerDiscoveryError(
      'bad_issuer_discovery',
      '/.well-known/openid-configuration names no issuer',
    );
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    throw new IssuerDiscoveryError('bad_issuer_discovery', '/openid/v1/jwks holds no keys');
  return { issuer, keys: keys as IssuerKeysDocument['keys'] };
}

/** Reads the issuer keys at most once per `ttlMs`; a failed read is not remembered. */
export function cachedIssuerKeys(
  kube: Pick<Kube, 'serviceAccountIssuer'>,
  ttlMs: number,
  now: () => number = Date.now,
): () => Promise<IssuerKeysDocument> {
  let cached: { at: number; doc: IssuerKeysDocument } | undefined;
  return async () => {
    if (cached !== undefined && now() - cached.at < ttlMs) return cached.doc;
    const { issuer, jwks } = await kube.serviceAccountIssuer();
    cached = { at: now(), doc: issuerKeysDocument(issuer, jwks) };
    return cached.doc;
  };
}
