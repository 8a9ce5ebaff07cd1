// ServiceAccounts of the shard and coordinator pods. Neither process calls the Kubernetes API,
// so no Role is bound and no token is mounted.
import type { V1ServiceAccount } from '@kubernetes/client-node';
import { objectNames, ownedMetadata } from '../names.ts';
import type { AgDRClusterStored } from '../types.ts';

export function desiredServiceAccounts(cluster: AgDRClusterStored): V1ServiceAccount[] {
  const names = objectNames(cluster.metadata.name);
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: ownedMetadata(cluster, names.shardServiceAccount, 'shard'),
      automountServiceAccountToken: false,
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: ownedMetadata(cluster, names.coordinatorServiceAccount, 'coordinator'),
      automountServiceAccountToken: false,
    },
  ];
}
