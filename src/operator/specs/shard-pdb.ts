// The shard PodDisruptionBudget: a voluntary disruption (node drain) takes one shard at a time.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import { objectNames, ownedMetadata, selectorLabels } from '../names.ts';
import type { AgDRClusterStored } from '../types.ts';

export function desiredShardPdb(cluster: AgDRClusterStored): V1PodDisruptionBudget {
  const name = cluster.metadata.name;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ownedMetadata(cluster, objectNames(name).shardPdb, 'shard'),
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(name, 'shard') },
    },
  };
}
