// Ingest authentication of a cluster's shards (docs/OPERATOR.md, "Ingest authentication"):
// the `agdr shard` flags that spec.ingest and spec.reads turn into, and the ConfigMap of the
// service-account issuer's public keys the shards verify tokens with.
import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  clusterAudience,
  parseIssuerKeys,
  type IssuerKeysDocument,
} from '../../core/service-account-token.ts';
import { AUTH_DIR, ISSUER_KEYS_FILE, objectNames, ownedMetadata } from '../names.ts';
import type { AgDRClusterStored, AgDRServiceAccountRef } from '../types.ts';

/** The cluster's ingest authentication with its defaults filled in. */
export interface IngestAuth {
  readonly mode: 'none' | 'serviceAccountToken';
  readonly audience: string;
  readonly writers: readonly AgDRServiceAccountRef[];
  readonly reads: 'open' | 'authenticated';
  readonly readers: readonly AgDRServiceAccountRef[];
}

export function ingestAuthOf(cluster: AgDRClusterStored): IngestAuth {
  const a = cluster.spec.ingest?.authentication;
  const ns = cluster.metadata.namespace ?? 'default';
  return {
    mode: a?.mode ?? 'none',
    audience: a?.audience ?? clusterAudience(ns, cluster.metadata.name),
    writers: a?.allowedServiceAccounts ?? [],
    reads: cluster.spec.reads?.access ?? 'open',
    readers: cluster.spec.reads?.allowedServiceAccounts ?? [],
  };
}

const subject = (r: AgDRServiceAccountRef): string =>
  r.name === undefined ? r.namespace : `${r.namespace}/${r.name}`;

/** The `agdr shard` arguments of the cluster's authentication (none when it is off). */
export function shardAuthArgs(cluster: AgDRClusterStored): string[] {
  const auth = ingestAuthOf(cluster);
  if (auth.mode === 'none') return [];
  return [
    '--auth',
    'serviceAccountToken',
    '--auth-issuer-keys',
    `${AUTH_DIR}/${ISSUER_KEYS_FILE}`,
    '--auth-audience',
    auth.audience,
    ...auth.writers.flatMap((w) => ['--allow-writer', subject(w)]),
    '--reads',
    auth.reads,
    ...auth.readers.flatMap((r) => ['--allow-reader', subject(r)]),
  ];
}

/**
 * The issuer keys ConfigMap the shards mount (the file they re-read when it changes): the
 * document is checked with the shards' own parser first, so the operator never publishes keys
 * a shard would refuse. Throws IssuerKeysError.
 */
export function desiredIssuerKeysConfigMap(
  cluster: AgDRClusterStored,
  issuer: IssuerKeysDocument,
): V1ConfigMap {
  parseIssuerKeys(issuer);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ownedMetadata(
      cluster,
      objectNames(cluster.metadata.name).issuerKeysConfigMap,
      'auth',
    ),
    data: { [ISSUER_KEYS_FILE]: JSON.stringify(issuer, null, 2) + '\n' },
  };
}
