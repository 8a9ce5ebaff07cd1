// What a cluster created again under the same name adopts from the objects that outlive the
// cluster object: owner references an earlier operator left are removed, and a routing table
// that routes differently from the spec is refused rather than followed or rewritten.
import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { orphanPatch } from '../../../src/operator/apply.ts';
import { isClusterOwnerReference, ownerReference } from '../../../src/operator/names.ts';
import {
  appendEpoch,
  lastEpoch,
  routingDifferences,
} from '../../../src/operator/plan/epoch-table.ts';
import {
  desiredRoutingConfigMap,
  desiredShardsConfigMap,
  initialEpochTable,
} from '../../../src/operator/specs/config-maps.ts';
import { cluster } from './fixtures.ts';

const OLD_OWNER = {
  apiVersion: 'agdr.dev/v1alpha1',
  kind: 'AgDRCluster',
  name: 'decisions',
  uid: 'uid-0',
  controller: true,
  blockOwnerDeletion: true,
};
const OTHER_OWNER = { apiVersion: 'example.com/v1', kind: 'Archive', name: 'a', uid: 'uid-9' };

function stored(obj: KubernetesObject, ownerReferences: object[]): KubernetesObject {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      resourceVersion: '42',
      ownerReferences,
    } as KubernetesObject['metadata'],
  };
}

describe('owner references of what outlives the cluster', () => {
  const c = cluster().build();
  const routing = desiredRoutingConfigMap(c, {});

  it('an earlier operator made the cluster the owner: a patch conditional on the version removes it', () => {
    expect(orphanPatch(routing, stored(routing, [OLD_OWNER, OTHER_OWNER]))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'decisions-routing',
        namespace: 'prod',
        resourceVersion: '42',
        // Owners that are not an AgDRCluster are someone else's decision.
        ownerReferences: [OTHER_OWNER],
      },
    });
    expect(orphanPatch(routing, stored(routing, [OLD_OWNER]))?.metadata?.ownerReferences).toEqual(
      [],
    );
  });

  it('nothing to write when no cluster owns it, or when the object is one the cluster owns', () => {
    expect(orphanPatch(routing, stored(routing, []))).toBeUndefined();
    expect(orphanPatch(routing, routing)).toBeUndefined();
    expect(orphanPatch(routing, stored(routing, [OTHER_OWNER]))).toBeUndefined();
    const shards = desiredShardsConfigMap(c, []);
    expect(orphanPatch(shards, stored(shards, [ownerReference(c)]))).toBeUndefined();
  });

  it('an AgDRCluster of any version of the group is a cluster owner; a same-named kind elsewhere is not', () => {
    expect(isClusterOwnerReference(OLD_OWNER)).toBe(true);
    expect(isClusterOwnerReference({ ...OLD_OWNER, apiVersion: 'agdr.dev/v1' })).toBe(true);
    expect(isClusterOwnerReference({ ...OLD_OWNER, apiVersion: 'agdr.dev.example/v1' })).toBe(
      false,
    );
    expect(isClusterOwnerReference({ ...OLD_OWNER, kind: 'Archive' })).toBe(false);
  });
});

describe('routingDifferences: may a cluster adopt a published routing table', () => {
  const wanted = (c = cluster().build()) => lastEpoch(initialEpochTable(c));

  it('a table its own spec published, scaled since, is adopted', () => {
    const c = cluster().build();
    const table = appendEpoch(initialEpochTable(c), 5, 1_000_000_000n);
    expect(routingDifferences(table, wanted(c))).toEqual([]);
    // The shard count differs (spec.shards 3, the table 5): a migration, not a mismatch.
    expect(routingDifferences(table, wanted(cluster().withShards(2).build()))).toEqual([]);
  });

  it('another bucket function or strategy is named field by field', () => {
    const table = initialEpochTable(cluster().build());
    expect(
      routingDifferences(
        table,
        wanted(
          cluster()
            .with({ routing: { strategy: 'hash-by-entity', bucket: 'modulo' } })
            .build(),
        ),
      ),
    ).toEqual(['bucket "jump" (spec: "modulo")']);
    expect(
      routingDifferences(
        table,
        wanted(
          cluster()
            .with({ routing: { strategy: 'hash-by-session', bucket: 'jump' } })
            .build(),
        ),
      ),
    ).toEqual([
      'strategy "hash-by-entity" (spec: "hash-by-session")',
      'key_pointers ["/entity_id","/ctx/entity_id","/record_id"] (spec: ["/session_id","/ctx/session_id","/record_id"])',
    ]);
  });

  it('compares the key pointers the table routes by', () => {
    const c = cluster().build();
    const table = initialEpochTable(c);
    const last = lastEpoch(table);
    last.key_pointers = ['/ctx/account'];
    expect(routingDifferences(table, wanted(c))).toEqual([
      'key_pointers ["/ctx/account"] (spec: ["/entity_id","/ctx/entity_id","/record_id"])',
    ]);
  });

  it('domain-partitioned does not use the bucket function, so it is not compared', () => {
    const domain = (bucket: 'jump' | 'modulo') =>
      cluster()
        .with({
          routing: {
            strategy: 'domain-partitioned',
            bucket,
            domainMap: { eu: 1 },
            defaultShard: 0,
          },
        })
        .build();
    expect(routingDifferences(initialEpochTable(domain('jump')), wanted(domain('modulo')))).toEqual(
      [],
    );
  });
});
