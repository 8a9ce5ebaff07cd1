// The shard headless Service (stable pod identities, EndpointSlices of the shard pods) and the
// coordinator Service.
import type { V1Service } from '@kubernetes/client-node';
import {
  COORDINATOR_PORT,
  SHARD_PORT,
  objectNames,
  ownedMetadata,
  selectorLabels,
} from '../names.ts';
import type { AgDRClusterStored } from '../types.ts';

export function desiredShardService(cluster: AgDRClusterStored): V1Service {
  const name = cluster.metadata.name;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMetadata(cluster, objectNames(name).shardService, 'shard'),
    spec: {
      clusterIP: 'None',
      selector: selectorLabels(name, 'shard'),
      ports: [{ name: 'http', port: SHARD_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

export function desiredCoordinatorService(cluster: AgDRClusterStored): V1Service {
  const name = cluster.metadata.name;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMetadata(cluster, objectNames(name).coordinatorService, 'coordinator'),
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(name, 'coordinator'),
      ports: [{ name: 'http', port: COORDINATOR_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}
