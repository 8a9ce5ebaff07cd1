// `agdr operator` as a real process against the real control plane: what it creates, status
// and Events, a settled cluster left alone across restarts and resyncs, leader election, an
// apiserver restart, and deletion. (No process serves these pods: their image is not the pod
// runner's; test/cluster/operator-e2e.test.ts runs real shards.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import {
  TIER_TIMING,
  applyCrd,
  clusterEventReasons,
  startOperator,
} from './harness/agdr-operator.ts';
import type { OperatorProcess } from './harness/agdr-operator.ts';
import { clusterKubectl, restartApiserver } from './harness/context.ts';
import type { Kubectl } from './harness/kubectl.ts';
import { sleep } from './harness/process.ts';

interface Meta {
  name: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
}
interface Obj {
  kind: string;
  metadata: Meta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface List {
  items: Obj[];
}
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

const OWNED_KINDS = [
  'statefulsets',
  'deployments',
  'services',
  'poddisruptionbudgets',
  'configmaps',
  'serviceaccounts',
];

/** What the operator keeps when the cluster is deleted, besides volumes and keys. */
const KEPT = ['configmaps/ledger-routing', 'configmaps/ledger-trust'];

function clusterManifest(ns: string, name: string, spec: Record<string, unknown>): string {
  return stringify({
    apiVersion: 'agdr.dev/v1alpha1',
    kind: 'AgDRCluster',
    metadata: { name, namespace: ns },
    spec: { aggregation: { interval: '1s' }, keys: { provider: 'file' }, ...spec },
  });
}

describe('agdr operator', () => {
  const k: Kubectl = clusterKubectl();
  let ns = '';
  const operators: OperatorProcess[] = [];

  const get = (kind: string, name: string): Promise<Obj> => k.getJson<Obj>([kind, name, '-n', ns]);
  const list = (kind: string, selector: string): Promise<List> =>
    k.getJson<List>([kind, '-n', ns, '-l', selector]);
  const conditions = async (name: string): Promise<Condition[]> =>
    ((await get('agdr', name)).status?.conditions as Condition[] | undefined) ?? [];
  const managed = (name: string): string =>
    `app.kubernetes.io/instance=${name},app.kubernetes.io/managed-by=agdr-operator`;
  /** Every object the operator made for `name`, by kind/name, with its resourceVersion. */
  const owned = async (name: string): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const kind of [...OWNED_KINDS, 'secrets']) {
      for (const o of (await list(kind, managed(name))).items)
        out[`${kind}/${o.metadata.name}`] = o.metadata.resourceVersion;
    }
    return out;
  };
  /** The same plus the cluster object itself. */
  const versions = async (name: string): Promise<Record<string, string>> => ({
    ...(await owned(name)),
    agdr: (await get('agdr', name)).metadata.resourceVersion,
  });
  const lease = async (): Promise<{ holder?: string; transitions?: number }> => {
    const l = await get('lease', 'agdr-operator');
    const spec = l.spec as { holderIdentity?: string; leaseTransitions?: number };
    return { holder: spec.holderIdentity, transitions: spec.leaseTransitions };
  };
  const eventReasons = (name: string): Promise<string[]> => clusterEventReasons(k, ns, name);
  const operator = async (identity: string): Promise<OperatorProcess> => {
    const op = await startOperator(identity, ns);
    operators.push(op);
    return op;
  };

  beforeAll(async () => {
    await applyCrd(k);
    ns = await k.createNamespace('operator');
  });

  afterAll(async () => {
    await Promise.all(operators.map((o) => o.stop()));
  });

  it('creates every object with a controller owner reference and writes status and Events', async () => {
    await operator('a');
    await k.apply(clusterManifest(ns, 'ledger', { shards: 3 }));
    const uid = (await get('agdr', 'ledger')).metadata.uid;
    await k.waitFor(
      'objects of ledger',
      async () => {
        const v = await versions('ledger');
        const want = [
          'statefulsets/ledger-shard',
          'deployments/ledger-coordinator',
          'services/ledger-shard',
          'services/ledger-coordinator',
          'poddisruptionbudgets/ledger-shard',
          'configmaps/ledger-routing',
          'configmaps/ledger-trust',
          'configmaps/ledger-shards',
          'serviceaccounts/ledger-shard',
          'serviceaccounts/ledger-coordinator',
          'secrets/ledger-shard-0-key',
          'secrets/ledger-shard-1-key',
          'secrets/ledger-shard-2-key',
          'secrets/ledger-coordinator-key',
        ];
        const missing = want.filter((w) => v[w] === undefined);
        return missing.length ? `missing ${missing.join(', ')}` : null;
      },
      60_000,
    );
    for (const kind of OWNED_KINDS) {
      for (const o of (await list(kind, managed('ledger'))).items) {
        if (KEPT.includes(`${kind}/${o.metadata.name}`)) continue;
        expect(o.metadata.ownerReferences, `${kind}/${o.metadata.name}`).toEqual([
          expect.objectContaining({ kind: 'AgDRCluster', name: 'ledger', uid, controller: true }),
        ]);
      }
    }
    // Keys, the routing table, the trust bundle and the coordinator's volume outlive the
    // cluster object: no owner.
    for (const o of (await list('secrets', managed('ledger'))).items)
      expect(o.metadata.ownerReferences).toBeUndefined();
    for (const cm of KEPT)
      expect((await k.getJson<Obj>([cm, '-n', ns])).metadata.ownerReferences, cm).toBeUndefined();
    const pvc = await get('pvc', 'ledger-coordinator-data');
    expect(pvc.metadata.ownerReferences).toBeUndefined();

    const sts = await get('statefulset', 'ledger-shard');
    expect(sts.spec).toMatchObject({ replicas: 3, podManagementPolicy: 'Parallel' });
    const trust = JSON.parse(
      (await get('configmap', 'ledger-trust')).data?.['trust.json'] ?? '',
    ) as {
      keys: { role: string; origin: string }[];
    };
    expect(trust.keys.map((x) => x.origin)).toEqual([
      `agdr.dev/${ns}/ledger/shard-0`,
      `agdr.dev/${ns}/ledger/shard-1`,
      `agdr.dev/${ns}/ledger/shard-2`,
      `agdr.dev/${ns}/ledger/coordinator`,
    ]);

    await k.waitFor(
      'status of ledger',
      async () => ((await conditions('ledger')).length === 3 ? null : 'no conditions yet'),
      30_000,
    );
    const st = (await get('agdr', 'ledger')).status ?? {};
    expect(st).toMatchObject({ observedGeneration: 1, routingEpoch: 0 });
    expect(st.readyShards).toEqual(expect.any(Number));
    expect(st.selector).toBe(
      'app.kubernetes.io/name=agdr,app.kubernetes.io/instance=ledger,app.kubernetes.io/component=shard',
    );
    const byType = Object.fromEntries((await conditions('ledger')).map((c) => [c.type, c]));
    // No process serves these pods (their image is not the pod runner's), so the cluster never
    // becomes Ready: its pods stay Pending, or KWOK marks them Ready and nothing answers.
    expect(byType.Ready).toMatchObject({ status: 'False', observedGeneration: 1 });
    expect(['ShardsNotReady', 'CoordinatorNotReady', 'CoordinatorUnreachable']).toContain(
      byType.Ready?.reason,
    );
    expect(byType.Progressing).toMatchObject({ status: 'True', reason: 'Provisioning' });
    expect(byType.Degraded).toMatchObject({ status: 'False' });
    await k.waitFor(
      'Created event',
      async () => ((await eventReasons('ledger')).includes('Created') ? null : 'none'),
      30_000,
    );
    expect(await lease()).toMatchObject({ holder: 'a' });
    expect(await operators[0]?.role()).toBe('leader');
  });

  it('leaves a settled cluster alone: no resourceVersion moves across a restart and two resyncs', async () => {
    // Wait until the cluster is settled: nothing moved across a resync.
    let before = await versions('ledger');
    for (let tries = 0; ; tries++) {
      await sleep(TIER_TIMING.resyncS * 1000 + 1000);
      const now = await versions('ledger');
      if (JSON.stringify(now) === JSON.stringify(before)) break;
      if (tries > 20) expect(now).toEqual(before);
      before = now;
    }
    await operators[0]?.stop();
    await operator('a2');
    await k.waitFor(
      'a2 leads',
      async () => ((await lease()).holder === 'a2' ? null : 'not yet'),
      30_000,
    );
    await sleep(2 * TIER_TIMING.resyncS * 1000 + 2000);
    expect(await versions('ledger')).toEqual(before);
  });

  it('a changed spec.shards starts a migration: key and shard first, then a future epoch', async () => {
    const migrations = async (): Promise<
      { epoch: number; to: number; phase: string; reason?: string; message?: string }[]
    > =>
      ((await get('agdr', 'ledger')).status?.migrations ?? []) as {
        epoch: number;
        to: number;
        phase: string;
      }[];
    const scaledAt = Date.now();
    await k.run(['scale', 'agdr/ledger', '-n', ns, '--replicas=4']);
    // KWOK marks these pods Ready (no process serves them): the epoch is published, and the
    // migration waits for the processes to serve it.
    await k.waitFor(
      'the migration 3 -> 4 with its epoch scheduled',
      async () => {
        const m = (await migrations()).at(-1);
        return m?.phase === 'EpochScheduled' ? null : JSON.stringify(m);
      },
      60_000,
    );
    expect((await versions('ledger'))['secrets/ledger-shard-3-key']).toBeDefined();
    expect((await get('statefulset', 'ledger-shard')).spec?.replicas).toBe(4);
    const table = JSON.parse(
      (await get('configmap', 'ledger-routing')).data?.['routing.json'] ?? '',
    ) as { epochs: { epoch: number; shards: number; effective_from_ns: string }[] };
    expect(table.epochs.map((e) => [e.epoch, e.shards])).toEqual([
      [0, 3],
      [1, 4],
    ]);
    // The default lead time: 5 minutes after it was published.
    const from = Number(BigInt(table.epochs[1]?.effective_from_ns ?? '0') / 1_000_000n);
    expect(from).toBeGreaterThanOrEqual(scaledAt + 5 * 60_000);
    expect((await migrations()).at(-1)?.message).toContain('not yet serving it');
    const progressing = (await conditions('ledger')).find((c) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'True', reason: 'Migrating' });
    expect(await eventReasons('ledger')).toContain('MigrationStarted');
    // A change during a migration waits, and status says so.
    await k.run(['scale', 'agdr/ledger', '-n', ns, '--replicas=3']);
    await k.waitFor(
      'the queued change explained',
      async () => {
        const p = (await conditions('ledger')).find((c) => c.type === 'Progressing');
        return p?.message.includes(
          'spec.shards is now 3: that migration starts once this one completes',
        )
          ? null
          : JSON.stringify(p);
      },
      30_000,
    );
    expect((await migrations()).at(-1)).toMatchObject({ epoch: 1, to: 4 });
  });

  it('keys.provider vault with Vault unreachable: nothing that signs, the rest applied, and says why', async () => {
    await k.apply(
      clusterManifest(ns, 'vaulted', {
        shards: 2,
        keys: { provider: 'vault', vault: { address: 'http://vault.invalid:8200' } },
      }),
    );
    await k.waitFor(
      'KeysNotReady and VaultUnavailable',
      async () => {
        const c = await conditions('vaulted');
        const r = c.find((x) => x.type === 'Ready');
        const v = c.find((x) => x.type === 'VaultUnavailable');
        return r?.reason === 'KeysNotReady' && v?.status === 'True' ? null : JSON.stringify(c);
      },
      30_000,
    );
    const v = await versions('vaulted');
    // Services, ConfigMaps and ServiceAccounts: yes; no workload that signs, no key Secret.
    expect(Object.keys(v).filter((x) => /^(statefulsets|deployments|secrets)\//.test(x))).toEqual(
      [],
    );
    expect(
      (await k.getJson<List>(['pvc', '-n', ns])).items.map((p) => p.metadata.name),
    ).not.toContain('vaulted-coordinator-data');
    expect(Object.keys(v)).toContain('configmaps/vaulted-trust');
    expect(Object.keys(v)).toContain('services/vaulted-shard');
    const keysReady = (await conditions('vaulted')).find((c) => c.type === 'KeysReady');
    expect(keysReady).toMatchObject({ status: 'False', reason: 'VaultUnavailable' });
    expect(keysReady?.message).toContain('keys published for 0 of 2 shards');
    await k.waitFor(
      'a VaultUnavailable Warning',
      async () => ((await eventReasons('vaulted')).includes('VaultUnavailable') ? null : 'none'),
      30_000,
    );
  });

  it('two operators: one leads; a killed leader is replaced within the lease time, a stopped one at once', async () => {
    const standby = await operator('b');
    await sleep(2_000);
    expect(await standby.role()).toBe('standby');
    expect((await lease()).holder).toBe('a2');
    const leader = operators.find((o) => o.identity === 'a2') as OperatorProcess;
    // SIGKILL: the Lease is not released, so b waits until it expires.
    const killedAt = Date.now();
    leader.kill();
    await k.waitFor(
      'b leads',
      async () => ((await lease()).holder === 'b' ? null : 'not yet'),
      30_000,
    );
    const takeover = Date.now() - killedAt;
    console.log(
      `leader killed: standby took over after ${takeover} ms (lease ${TIER_TIMING.leaseDurationS} s)`,
    );
    expect(takeover).toBeLessThan(
      (TIER_TIMING.leaseDurationS + 2 * TIER_TIMING.retryPeriodS + 2) * 1000,
    );
    // The new leader reconciles: a deleted object comes back.
    await k.run(['delete', 'pdb', 'ledger-shard', '-n', ns]);
    await k.waitFor(
      'PDB re-created',
      async () =>
        (await versions('ledger'))['poddisruptionbudgets/ledger-shard'] ? null : 'missing',
      30_000,
    );
    // A clean stop releases the Lease: c takes over within a retry period or two.
    await operator('c');
    await sleep(1_500);
    const stoppedAt = Date.now();
    await standby.stop();
    await k.waitFor(
      'c leads',
      async () => ((await lease()).holder === 'c' ? null : 'not yet'),
      30_000,
    );
    console.log(`leader stopped: standby took over after ${Date.now() - stoppedAt} ms`);
    expect(Date.now() - stoppedAt).toBeLessThan((2 * TIER_TIMING.retryPeriodS + 2) * 1000);
  });

  it('recovers from a kube-apiserver restart and keeps reconciling', async () => {
    await restartApiserver();
    await k.run(['delete', 'service', 'ledger-coordinator', '-n', ns]);
    await k.waitFor(
      'Service re-created after the restart',
      async () => ((await versions('ledger'))['services/ledger-coordinator'] ? null : 'missing'),
      90_000,
    );
  });

  it('deleting the cluster removes the workloads and keeps the volumes, keys, routing table and trust bundle; the same name adopts them', async () => {
    const claims = (await k.getJson<List>(['pvc', '-n', ns])).items
      .map((p) => p.metadata.name)
      .sort();
    expect(claims).toEqual([
      'data-ledger-shard-0',
      'data-ledger-shard-1',
      'data-ledger-shard-2',
      'data-ledger-shard-3',
      'ledger-coordinator-data',
    ]);
    // A cluster an earlier operator version made owned its routing and trust ConfigMaps: give
    // them that owner back, once as that operator applied it (server-side apply, its field
    // manager) and once as another manager would (a merge patch). The operator removes both.
    const uid = (await get('agdr', 'ledger')).metadata.uid;
    const owner = { apiVersion: 'agdr.dev/v1alpha1', kind: 'AgDRCluster', name: 'ledger', uid };
    const routing = await get('configmap', 'ledger-routing');
    await k.run(
      ['apply', '--server-side', '--force-conflicts', '--field-manager=agdr-operator', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'ledger-routing',
          namespace: ns,
          labels: (routing as { metadata: { labels?: object } }).metadata.labels,
          ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
        },
        data: routing.data,
      }),
    );
    await k.run([
      'patch',
      'configmap',
      'ledger-trust',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ metadata: { ownerReferences: [owner] } }),
    ]);
    await k.waitFor(
      'the old owner references removed',
      async () => {
        const owned = [];
        for (const cm of KEPT) {
          const o = await k.getJson<Obj>([cm, '-n', ns]);
          if (o.metadata.ownerReferences !== undefined) owned.push(cm);
        }
        return owned.length === 0 ? null : owned.join(', ');
      },
      30_000,
    );
    const kept = async (): Promise<Record<string, { rv: string; data: unknown }>> => {
      const out: Record<string, { rv: string; data: unknown }> = {};
      for (const cm of KEPT) {
        const o = await k.getJson<Obj>([cm, '-n', ns]);
        out[cm] = { rv: o.metadata.resourceVersion, data: o.data };
      }
      return out;
    };
    const before = await kept();

    await k.run(['delete', 'agdr', 'ledger', '-n', ns, '--wait=true']);
    await k.waitFor(
      'workloads garbage-collected',
      async () => {
        const left = Object.keys(await owned('ledger')).filter(
          (x) => !x.startsWith('secrets/') && !KEPT.includes(x),
        );
        return left.length === 0 ? null : left.join(', ');
      },
      60_000,
    );
    expect(
      (await k.getJson<List>(['pvc', '-n', ns])).items.map((p) => p.metadata.name).sort(),
    ).toEqual(claims);
    expect((await list('secrets', managed('ledger'))).items).toHaveLength(5);
    expect(await kept()).toEqual(before);

    // Created again with another bucket function: the table is not this spec's; refused.
    await k.apply(clusterManifest(ns, 'ledger', { shards: 4, routing: { bucket: 'modulo' } }));
    await k.waitFor(
      'RoutingTableMismatch',
      async () => {
        const r = (await conditions('ledger')).find((c) => c.type === 'Ready');
        return r?.reason === 'RoutingTableMismatch' ? null : JSON.stringify(r);
      },
      30_000,
    );
    const refused = (await conditions('ledger')).find((c) => c.type === 'Ready');
    expect(refused?.message).toContain('bucket "jump" (spec: "modulo")');
    await k.waitFor(
      'a RoutingTableMismatch Warning',
      async () =>
        (await eventReasons('ledger')).includes('RoutingTableMismatch') ? null : 'none yet',
      30_000,
    );
    expect(Object.keys(await owned('ledger')).filter((x) => !x.startsWith('secrets/'))).toEqual(
      KEPT,
    );
    expect(await kept()).toEqual(before);
    await k.run(['delete', 'agdr', 'ledger', '-n', ns, '--wait=true']);

    // Created again as it was: it adopts the table (both epochs) and the trust bundle as they
    // are, and runs the shards the table's last epoch routes to on the same volumes and keys.
    await k.apply(clusterManifest(ns, 'ledger', { shards: 4 }));
    await k.waitFor(
      'the workloads of the adopted cluster',
      async () => {
        const v = await owned('ledger');
        const missing = ['statefulsets/ledger-shard', 'deployments/ledger-coordinator'].filter(
          (w) => v[w] === undefined,
        );
        return missing.length ? `missing ${missing.join(', ')}` : null;
      },
      60_000,
    );
    const st = await k.getJson<Obj>(['statefulset', 'ledger-shard', '-n', ns]);
    expect(st.spec?.replicas).toBe(4);
    await k.waitFor(
      'status of the adopted cluster',
      async () => {
        const p = (await conditions('ledger')).find((c) => c.type === 'Progressing');
        return p?.reason === 'Provisioning' ? null : JSON.stringify(p);
      },
      30_000,
    );
    expect((await get('agdr', 'ledger')).status?.routingEpoch).toBe(0);
    expect(await kept()).toEqual(before);
    const table = JSON.parse(
      (before['configmaps/ledger-routing']?.data as Record<string, string>)['routing.json'] ?? '',
    ) as { epochs: { epoch: number; shards: number }[] };
    expect(table.epochs.map((e) => [e.epoch, e.shards])).toEqual([
      [0, 3],
      [1, 4],
    ]);
    expect(
      (await k.getJson<List>(['pvc', '-n', ns])).items.map((p) => p.metadata.name).sort(),
    ).toEqual(claims);
    expect((await list('secrets', managed('ledger'))).items).toHaveLength(5);
  });
});
