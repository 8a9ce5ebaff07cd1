// The shard StatefulSet: one pod per shard, the ordinal is the shard id.
import type { V1StatefulSet, V1Volume } from '@kubernetes/client-node';
import {
  AUTH_DIR,
  DATA_DIR,
  KEYS_DIR,
  LABEL_POD_INDEX,
  ROUTING_DIR,
  ROUTING_FILE,
  SHARD_PORT,
  componentLabels,
  objectNames,
  ownedMetadata,
  selectorLabels,
  shardKeySecretName,
} from '../names.ts';
import type { AgDRClusterStored } from '../types.ts';
import {
  KEY_FILE_MODE,
  POD_IP_ENV,
  TMP_MOUNT,
  TMP_VOLUME,
  configMapVolume,
  containerSecurityContext,
  httpProbe,
  imageOf,
  podSecurityContext,
  resourcesOf,
  storageClaimSpec,
} from './pod.ts';
import type { BuildOptions } from './pod.ts';
import { vaultMounts, vaultSignerArgs, vaultVolumes } from './vault-signer.ts';
import type { VaultPodSettings } from './vault-signer.ts';
import { shardAuthArgs } from './ingest-auth.ts';

/** What the builder needs to know of the cluster as it stands. */
export interface ShardStatefulSetObserved {
  /**
   * The replicas to run: what the migration planner decided (plan/migration.ts); absent before
   * the StatefulSet exists, when spec.shards is used.
   */
  readonly replicas?: number;
}

/**
 * Seconds a shard gets between SIGTERM and SIGKILL: it stops accepting, finishes the group
 * commit in flight and signs a final checkpoint.
 */
export const SHARD_TERMINATION_GRACE_SECONDS = 60;

/** The startup probe allows this long for recovery of a large log before liveness applies. */
export const SHARD_STARTUP_SECONDS = 1800;

/** Seconds between checkpoints a shard signs while its log grows. */
export const SHARD_CHECKPOINT_INTERVAL = '1s';

/**
 * Shards the StatefulSet runs: the planned replicas, or spec.shards for the first build. A
 * change of spec.shards reaches the StatefulSet only through a migration, never directly.
 */
export function shardReplicas(
  cluster: AgDRClusterStored,
  observed: ShardStatefulSetObserved,
): number {
  return observed.replicas ?? cluster.spec.shards;
}

/**
 * Key file slots in the pod template: a power of two, at least 16, covering every shard. Each
 * slot is an optional projected Secret, so scaling within the slots leaves the pod template as
 * it is and no running shard is restarted by a migration (a template change would roll every
 * shard pod); only growing past a power of two rolls them once.
 */
export function keySlots(replicas: number): number {
  let n = 16;
  while (n < replicas) n *= 2;
  return n;
}

/** The key file path of shard `$(SHARD_ID)` inside the pod. */
export const SHARD_KEY_PATH = `${KEYS_DIR}/shard-$(SHARD_ID).json`;

/**
 * The shard StatefulSet. With `vault` (keys.provider vault) each pod signs with its own Vault
 * transit key, logged in with a projected ServiceAccount token; otherwise every shard's key
 * Secret is mounted and each process opens its own file.
 */
export function desiredShardStatefulSet(
  cluster: AgDRClusterStored,
  observed: ShardStatefulSetObserved,
  options: BuildOptions,
  vault?: VaultPodSettings,
): V1StatefulSet {
  const name = cluster.metadata.name;
  const names = objectNames(name);
  const ns = cluster.metadata.namespace ?? 'default';
  const replicas = shardReplicas(cluster, observed);
  const selector = selectorLabels(name, 'shard');
  const resources = resourcesOf(cluster);
  const authArgs = shardAuthArgs(cluster);
  const authOn = authArgs.length > 0;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: ownedMetadata(cluster, names.shardStatefulSet, 'shard'),
    spec: {
      replicas,
      serviceName: names.shardService,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selector },
      // Evidence outlives pods and the cluster object: volumes are never deleted for us.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: componentLabels(name, 'shard') },
        spec: {
          serviceAccountName: names.shardServiceAccount,
          automountServiceAccountToken: false,
          securityContext: podSecurityContext(),
          terminationGracePeriodSeconds: SHARD_TERMINATION_GRACE_SECONDS,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            },
          ],
          containers: [
            {
              name: 'shard',
              image: imageOf(cluster, options),
              args: [
                'shard',
                '--data',
                DATA_DIR,
                '--shard-id',
                '$(SHARD_ID)',
                '--routing',
                `${ROUTING_DIR}/${ROUTING_FILE}`,
                ...(vault !== undefined
                  ? vaultSignerArgs(cluster, vault, 'shard')
                  : ['--key', SHARD_KEY_PATH]),
                '--host',
                '$(POD_IP)',
                '--port',
                String(SHARD_PORT),
                '--namespace',
                ns,
                '--cluster',
                name,
                '--checkpoint-interval',
                SHARD_CHECKPOINT_INTERVAL,
                ...authArgs,
              ],
              env: [
                {
                  name: 'SHARD_ID',
                  valueFrom: { fieldRef: { fieldPath: `metadata.labels['${LABEL_POD_INDEX}']` } },
                },
                POD_IP_ENV,
              ],
              ports: [{ name: 'http', containerPort: SHARD_PORT, protocol: 'TCP' }],
              startupProbe: httpProbe('/readyz', SHARD_PORT, 2, SHARD_STARTUP_SECONDS / 2),
              readinessProbe: httpProbe('/readyz', SHARD_PORT, 2, 2),
              livenessProbe: httpProbe('/healthz', SHARD_PORT, 10, 3),
              securityContext: containerSecurityContext(),
              ...(resources !== undefined ? { resources } : {}),
              volumeMounts: [
                { name: names.shardVolumeClaim, mountPath: DATA_DIR },
                { name: 'routing', mountPath: ROUTING_DIR, readOnly: true },
                ...(vault !== undefined
                  ? vaultMounts(vault)
                  : [{ name: 'keys', mountPath: KEYS_DIR, readOnly: true }]),
                ...(authOn ? [{ name: 'auth', mountPath: AUTH_DIR, readOnly: true }] : []),
                TMP_MOUNT,
              ],
            },
          ],
          volumes: [
            configMapVolume('routing', names.routingConfigMap),
            ...(vault !== undefined ? vaultVolumes(vault) : [shardKeysVolume(name, replicas)]),
            ...(authOn ? [configMapVolume('auth', names.issuerKeysConfigMap)] : []),
            TMP_VOLUME,
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: names.shardVolumeClaim, labels: componentLabels(name, 'shard') },
          spec: storageClaimSpec(cluster),
        },
      ],
    },
  };
}

/** keys.provider file: every shard's key Secret, each as shard-<id>.json. */
function shardKeysVolume(name: string, replicas: number): V1Volume {
  return {
    name: 'keys',
    // Every shard's key Secret, each as shard-<id>.json; a process opens only its own
    // (keys.provider file is for development: see docs/OPERATOR.md).
    projected: {
      defaultMode: KEY_FILE_MODE,
      sources: Array.from({ length: keySlots(replicas) }, (_, id) => ({
        secret: {
          name: shardKeySecretName(name, id),
          items: [{ key: 'key.json', path: `shard-${id}.json` }],
          // A shard's key Secret is created before its pod (plan/migration.ts).
          optional: true,
        },
      })),
    },
  };
}
