// A StatefulSet with a volumeClaimTemplate on KWOK nodes: Pods Running/Ready, claims bound by
// the controller-manager's PV binder, ordered scale-down that keeps the claims (Retain).
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { clusterInfo, clusterKubectl } from './harness/context.ts';

interface PodList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status: { phase?: string; conditions?: { type: string; status: string }[] };
  }[];
}
interface PvcList {
  items: { metadata: { name: string }; status: { phase?: string } }[];
}

const REPLICAS = 3;

function manifests(ns: string, storageClass: string): string {
  const docs: object[] = [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: storageClass },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'Immediate',
      reclaimPolicy: 'Retain',
    },
    ...Array.from({ length: REPLICAS }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${ns}-pv-${i}` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: storageClass,
        hostPath: { path: `/var/lib/agdr-test/${ns}/pv-${i}` },
      },
    })),
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'shard', namespace: ns },
      spec: {
        replicas: REPLICAS,
        serviceName: 'shard',
        selector: { matchLabels: { app: 'shard' } },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels: { app: 'shard' } },
          spec: {
            nodeSelector: { type: 'kwok' },
            containers: [
              {
                name: 'shard',
                image: 'agdr-operator:test',
                volumeMounts: [{ name: 'data', mountPath: '/data' }],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: storageClass,
              resources: { requests: { storage: '1Gi' } },
            },
          },
        ],
      },
    },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

function podsReady(pods: PodList, nodes: readonly string[]): string[] {
  return pods.items
    .filter(
      (p) =>
        p.status.phase === 'Running' &&
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
        nodes.includes(p.spec.nodeName ?? ''),
    )
    .map((p) => p.metadata.name)
    .sort();
}

describe('StatefulSet on KWOK nodes', () => {
  it('runs 3 ready pods with bound claims, scales to 1 and keeps the claims', async () => {
    const k = clusterKubectl();
    const nodes = clusterInfo().nodeNames;
    const ns = await k.createNamespace('sts');
    await k.apply(manifests(ns, `${ns}-local`));

    const allPods = ['shard-0', 'shard-1', 'shard-2'];
    const allClaims = ['data-shard-0', 'data-shard-1', 'data-shard-2'];
    const boundClaims = async (): Promise<string[]> =>
      (await k.getJson<PvcList>(['pvc', '-n', ns])).items
        .filter((c) => c.status.phase === 'Bound')
        .map((c) => c.metadata.name)
        .sort();

    await k.waitFor(
      '3 pods Running/Ready on KWOK nodes and 3 bound claims',
      async () => {
        const ready = podsReady(await k.getJson<PodList>(['pods', '-n', ns]), nodes);
        const bound = await boundClaims();
        return ready.length === REPLICAS && bound.length === REPLICAS
          ? null
          : `ready pods [${ready.join(', ')}], bound claims [${bound.join(', ')}]`;
      },
      180_000,
    );
    expect(podsReady(await k.getJson<PodList>(['pods', '-n', ns]), nodes)).toEqual(allPods);
    expect(await boundClaims()).toEqual(allClaims);

    // Record the order in which Pods go away: OrderedReady scale-down removes the highest
    // ordinal first and waits for it before the next.
    const kc = new KubeConfig();
    kc.loadFromFile(clusterInfo().kubeconfig);
    const deleted: string[] = [];
    let watchError: unknown;
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      {},
      (phase: string, obj: { metadata?: { name?: string } }) => {
        if (phase === 'DELETED') deleted.push(obj.metadata?.name ?? '?');
      },
      (err: unknown) => {
        if (err) watchError = err;
      },
    );
    await k.run(['scale', 'statefulset/shard', '-n', ns, '--replicas=1']);
    await k.waitFor(
      'scale-down to 1 pod',
      async () => {
        const pods = (await k.getJson<PodList>(['pods', '-n', ns])).items.map(
          (p) => p.metadata.name,
        );
        return pods.length === 1 ? null : `pods [${pods.join(', ')}]`;
      },
      120_000,
    );
    await k.waitFor(
      'DELETED events of both removed pods',
      async () =>
        deleted.length >= 2
          ? null
          : `deleted so far [${deleted.join(', ')}], watch error: ${String(watchError)}`,
      30_000,
    );
    watch.abort();
    expect(deleted).toEqual(['shard-2', 'shard-1']);
    expect(podsReady(await k.getJson<PodList>(['pods', '-n', ns]), nodes)).toEqual(['shard-0']);
    // whenScaled: Retain keeps the claims of the removed ordinals, still bound to their volumes.
    expect(await boundClaims()).toEqual(allClaims);
    const sts = await k.getJson<{ status: { readyReplicas?: number; replicas: number } }>([
      'statefulset/shard',
      '-n',
      ns,
    ]);
    expect(sts.status.replicas).toBe(1);
  });
});
