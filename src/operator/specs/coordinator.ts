// The Root Merkle Coordinator: a one-replica Deployment (Recreate: two coordinators must never
// append to one global log), its PersistentVolumeClaim, and the files it reads.
import type { V1Deployment, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import {
  COORDINATOR_PORT,
  DATA_DIR,
  KEYS_DIR,
  KEY_FILE,
  ROUTING_DIR,
  ROUTING_FILE,
  SHARDS_DIR,
  SHARDS_FILE,
  TRUST_DIR,
  TRUST_FILE,
  componentLabels,
  objectNames,
  keptMetadata,
  ownedMetadata,
  selectorLabels,
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
  storageClaimSpec,
} from './pod.ts';
import type { BuildOptions } from './pod.ts';
import { vaultMounts, vaultSignerArgs, vaultVolumes } from './vault-signer.ts';
import type { VaultPodSettings } from './vault-signer.ts';

/** The coordinator's global log volume is as large as one shard's by default. */
export function desiredCoordinatorVolumeClaim(cluster: AgDRClusterStored): V1PersistentVolumeClaim {
  const name = cluster.metadata.name;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    // No owner reference: the global log outlives the cluster object, like the shard volumes.
    metadata: keptMetadata(cluster, objectNames(name).coordinatorVolumeClaim, 'coordinator'),
    spec: storageClaimSpec(cluster),
  };
}

/** Coordinator flags that come from the cluster's spec. */
function aggregationArgs(cluster: AgDRClusterStored): string[] {
  const { interval, shardTimeout } = cluster.spec.aggregation;
  return [
    '--interval',
    interval,
    ...(shardTimeout !== undefined ? ['--shard-timeout', shardTimeout] : []),
    ...(cluster.spec.publishUrl !== undefined ? ['--publish-url', cluster.spec.publishUrl] : []),
  ];
}

/** The coordinator; with `vault` it signs with its Vault transit key (see the shard's). */
export function desiredCoordinatorDeployment(
  cluster: AgDRClusterStored,
  options: BuildOptions,
  vault?: VaultPodSettings,
): V1Deployment {
  const name = cluster.metadata.name;
  const names = objectNames(name);
  const ns = cluster.metadata.namespace ?? 'default';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ownedMetadata(cluster, names.coordinatorDeployment, 'coordinator'),
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selectorLabels(name, 'coordinator') },
      template: {
        metadata: { labels: componentLabels(name, 'coordinator') },
        spec: {
          serviceAccountName: names.coordinatorServiceAccount,
          automountServiceAccountToken: false,
          securityContext: podSecurityContext(),
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'coordinator',
              image: imageOf(cluster, options),
              args: [
                'coordinator',
                '--shards-file',
                `${SHARDS_DIR}/${SHARDS_FILE}`,
                '--data',
                DATA_DIR,
                '--trust',
                `${TRUST_DIR}/${TRUST_FILE}`,
                '--routing',
                `${ROUTING_DIR}/${ROUTING_FILE}`,
                ...(vault !== undefined
                  ? vaultSignerArgs(cluster, vault, 'coordinator')
                  : ['--key', `${KEYS_DIR}/${KEY_FILE}`]),
                ...aggregationArgs(cluster),
                '--namespace',
                ns,
                '--cluster',
                name,
                '--host',
                '$(POD_IP)',
                '--port',
                String(COORDINATOR_PORT),
              ],
              env: [POD_IP_ENV],
              ports: [{ name: 'http', containerPort: COORDINATOR_PORT, protocol: 'TCP' }],
              startupProbe: httpProbe('/readyz', COORDINATOR_PORT, 2, 900),
              readinessProbe: httpProbe('/readyz', COORDINATOR_PORT, 2, 2),
              livenessProbe: httpProbe('/healthz', COORDINATOR_PORT, 10, 3),
              securityContext: containerSecurityContext(),
              volumeMounts: [
                { name: 'data', mountPath: DATA_DIR },
                { name: 'routing', mountPath: ROUTING_DIR, readOnly: true },
                { name: 'trust', mountPath: TRUST_DIR, readOnly: true },
                { name: 'shards', mountPath: SHARDS_DIR, readOnly: true },
                ...(vault !== undefined
                  ? vaultMounts(vault)
                  : [{ name: 'key', mountPath: KEYS_DIR, readOnly: true }]),
                TMP_MOUNT,
              ],
            },
          ],
          volumes: [
            { name: 'data', persistentVolumeClaim: { claimName: names.coordinatorVolumeClaim } },
            configMapVolume('routing', names.routingConfigMap),
            configMapVolume('trust', names.trustConfigMap),
            configMapVolume('shards', names.shardsConfigMap),
            ...(vault !== undefined
              ? vaultVolumes(vault)
              : [
                  {
                    name: 'key',
                    secret: { secretName: names.coordinatorKeySecret, defaultMode: KEY_FILE_MODE },
                  },
                ]),
            TMP_VOLUME,
          ],
        },
      },
    },
  };
}
