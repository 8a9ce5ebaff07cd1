// The trust bundle: which verifier keys may sign which log's checkpoints. It is a JSON file
// (written by `agdr local`, or by the operator from Vault's public keys) that the coordinator
// re-reads when it changes, what `GET /v1/keys` serves, and what verifiers check against.
import { verifierKeyString } from '../core/note.ts';
import { ClientError } from './errors.ts';

export interface TrustedKey {
  /** `shard` or `coordinator`. */
  role: 'shard' | 'coordinator';
  /** For a shard key: its shard id. */
  shard_id?: number;
  /** The checkpoint origin this key signs for (`agdr.dev/<ns>/<cluster>/shard-<i>`). */
  origin: string;
  /** C2SP verifier key: `name+hexkeyid+base64(0x01 || pubkey)`. */
  verifier_key: string;
  key_version: number;
  /** Validity as decimal nanoseconds since the epoch (strings: they exceed 2^53). */
  valid_from_ns: string;
  /** Null while the key is current. */
  valid_until_ns: string | null;
}

export interface TrustBundle {
  version: 1;
  keys: TrustedKey[];
}

const NS = /^\d{1,20}$/;

function fail(message: string, path: string): never {
  throw new ClientError('bad_trust_bundle', message, path);
}

/** Checks the shape of a parsed trust bundle; throws with the JSON path of the first problem. */
export function validateTrustBundle(value: unknown): TrustBundle {
  if (typeof value !== 'object' || value === null) fail('trust bundle must be an object', '$');
  const v = value as Record<string, unknown>;
  if (v.version !== 1) fail('unsupported trust bundle version (expected 1)', '$.version');
  if (!Array.isArray(v.keys)) fail('keys must be an array', '$.keys');
  const keys = v.keys.map((k: unknown, i): TrustedKey => {
    const p = `$.keys[${i}]`;
    if (typeof k !== 'object' || k === null) fail('must be an object', p);
    const key = k as Record<string, unknown>;
    if (key.role !== 'shard' && key.role !== 'coordinator')
      fail('role must be shard or coordinator', `${p}.role`);
    if (
      key.role === 'shard' &&
      !(Number.isSafeInteger(key.shard_id) && (key.shard_id as number) >= 0)
    ) {
      fail('shard_id must be a non-negative integer', `${p}.shard_id`);
    }
    if (typeof key.origin !== 'string' || key.origin === '')
      fail('origin must be a string', `${p}.origin`);
    if (typeof key.verifier_key !== 'string' || !key.verifier_key.includes('+')) {
      fail('verifier_key must be a C2SP verifier key', `${p}.verifier_key`);
    }
    if (!Number.isSafeInteger(key.key_version))
      fail('key_version must be an integer', `${p}.key_version`);
    if (typeof key.valid_from_ns !== 'string' || !NS.test(key.valid_from_ns)) {
      fail('valid_from_ns must be decimal nanoseconds (a string)', `${p}.valid_from_ns`);
    }
    if (
      key.valid_until_ns !== null &&
      (typeof key.valid_until_ns !== 'string' || !NS.test(key.valid_until_ns))
    ) {
      fail('valid_until_ns must be null or decimal nanoseconds (a string)', `${p}.valid_until_ns`);
    }
    const out: TrustedKey = {
      role: key.role,
      origin: key.origin,
      verifier_key: key.verifier_key,
      key_version: key.key_version as number,
      valid_from_ns: key.valid_from_ns,
      valid_until_ns: key.valid_until_ns as string | null,
    };
    if (key.role === 'shard') out.shard_id = key.shard_id as number;
    return out;
  });
  return { version: 1, keys };
}

/**
 * The trust entry of one key version of a log's signer (key name = origin), valid from
 * `validFromNs` until further notice.
 */
export function trustedKey(
  role: 'shard' | 'coordinator',
  signer: { name: string; publicKey: Uint8Array; keyVersion: number },
  shardId?: number,
  validFromNs = '0',
): TrustedKey {
  return {
    role,
    ...(shardId !== undefined ? { shard_id: shardId } : {}),
    origin: signer.name,
    verifier_key: verifierKeyString(signer.name, signer.publicKey),
    key_version: signer.keyVersion,
    valid_from_ns: validFromNs,
    valid_until_ns: null,
  };
}

// Keys by origin, built once per bundle: a round looks up every shard's keys.
const byOrigin = new WeakMap<TrustBundle, Map<string, TrustedKey[]>>();

/** Verifier keys for `origin` valid at `nowNs`. */
export function keysForOrigin(bundle: TrustBundle, origin: string, nowNs: bigint): string[] {
  let index = byOrigin.get(bundle);
  if (index === undefined) {
    index = new Map();
    for (const k of bundle.keys) {
      const list = index.get(k.origin);
      if (list === undefined) index.set(k.origin, [k]);
      else list.push(k);
    }
    byOrigin.set(bundle, index);
  }
  return (index.get(origin) ?? [])
    .filter(
      (k) =>
        BigInt(k.valid_from_ns) <= nowNs &&
        (k.valid_until_ns === null || BigInt(k.valid_until_ns) > nowNs),
    )
    .map((k) => k.verifier_key);
}
