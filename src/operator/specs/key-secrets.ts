// keys.provider: file. Each shard and the coordinator get an Ed25519 key file in a Secret of
// their own, created once and never rewritten (a new key would orphan every checkpoint the old
// one signed). Development only: the key is readable by whoever can read Secrets in the
// namespace, and every shard pod mounts every shard's key; production keys are Vault transit
// keys that never leave Vault.
import type { V1Secret } from '@kubernetes/client-node';
import { coordinatorOrigin, shardOrigin } from '../../core/checkpoint.ts';
import { fromBase64, utf8 } from '../../core/bytes.ts';
import { CodedError } from '../../core/errors.ts';
import { KEY_FILE_FORMAT, newKeyFile } from '../../core/key-file.ts';
import type { KeyFile } from '../../core/key-file.ts';
import {
  KEY_FILE,
  LABEL_SHARD_ID,
  componentLabels,
  objectNames,
  shardKeySecretName,
} from '../names.ts';
import type { AgDRClusterStored } from '../types.ts';

/** Whose key a Secret holds. */
export type KeyOwner = { role: 'shard'; shardId: number } | { role: 'coordinator' };

export function keySecretName(cluster: AgDRClusterStored, owner: KeyOwner): string {
  return owner.role === 'shard'
    ? shardKeySecretName(cluster.metadata.name, owner.shardId)
    : objectNames(cluster.metadata.name).coordinatorKeySecret;
}

/** The signed-note key name (the log origin) a key signs for. */
export function keyOrigin(cluster: AgDRClusterStored, owner: KeyOwner): string {
  const ns = cluster.metadata.namespace ?? 'default';
  return owner.role === 'shard'
    ? shardOrigin(ns, cluster.metadata.name, owner.shardId)
    : coordinatorOrigin(ns, cluster.metadata.name);
}

/**
 * A new key Secret from a fresh 32-byte seed. It carries no owner reference: like the volumes,
 * the keys outlive the cluster object, so a cluster re-created under the same name resumes its
 * logs under the same keys (and old checkpoints stay verifiable).
 */
export function desiredKeySecret(
  cluster: AgDRClusterStored,
  owner: KeyOwner,
  seed: Uint8Array,
  now: Date,
): V1Secret {
  const file = newKeyFile(keyOrigin(cluster, owner), seed, now);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: keySecretName(cluster, owner),
      namespace: cluster.metadata.namespace ?? 'default',
      labels: {
        ...componentLabels(cluster.metadata.name, 'key'),
        ...(owner.role === 'shard' ? { [LABEL_SHARD_ID]: String(owner.shardId) } : {}),
      },
      annotations: { 'agdr.dev/development-only': 'keys.provider file keeps private keys here' },
    },
    type: 'Opaque',
    immutable: true,
    stringData: { [KEY_FILE]: JSON.stringify(file, null, 2) + '\n' },
  };
}

export interface PublishedKey {
  readonly keyVersion: number;
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** A key Secret that does not hold a usable key file; `path` names the Secret. */
export class KeySecretError extends CodedError<'bad_key_secret'> {
  override name = 'KeySecretError';
  constructor(secret: string, message: string) {
    super('bad_key_secret', `${secret}: ${message}`, secret);
  }
}

/**
 * The public keys (every version, oldest first) of a key Secret, checked to be for `origin`.
 * Only public halves are read; nothing of the private key reaches an error message.
 */
export function publicKeysOfSecret(secret: V1Secret, origin: string): PublishedKey[] {
  const where = `Secret ${secret.metadata?.name ?? '?'}`;
  const data = secret.data?.[KEY_FILE];
  if (data === undefined) throw new KeySecretError(where, `has no ${KEY_FILE}`);
  let doc: Partial<KeyFile>;
  try {
    doc = JSON.parse(utf8.decode(fromBase64(data))) as Partial<KeyFile>;
  } catch {
    throw new KeySecretError(where, `${KEY_FILE} is not JSON`);
  }
  if (doc.format !== KEY_FILE_FORMAT) throw new KeySecretError(where, `not ${KEY_FILE_FORMAT}`);
  if (doc.name !== origin)
    throw new KeySecretError(where, `key is for '${doc.name}', want '${origin}'`);
  if (!Array.isArray(doc.versions) || doc.versions.length === 0)
    throw new KeySecretError(where, 'no key versions');
  return doc.versions.map((v, i) => {
    let publicKey: Uint8Array;
    try {
      publicKey = fromBase64(String(v.public_key));
    } catch {
      throw new KeySecretError(where, `versions[${i}].public_key is not base64`);
    }
    if (publicKey.length !== 32 || v.version !== i + 1)
      throw new KeySecretError(where, `versions[${i}] is malformed`);
    return { keyVersion: v.version, publicKey };
  });
}
