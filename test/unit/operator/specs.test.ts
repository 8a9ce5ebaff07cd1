// The pure builders: one manifest per kind from the cluster and what was observed.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromBase64, utf8 } from '../../../src/core/bytes.ts';
import { parseVerifierKey } from '../../../src/core/note.ts';
import { defaultKeyPointers, validateEpochTable } from '../../../src/core/routing.ts';
import { loadOrCreateFileSigner } from '../../../src/keys/file-signer.ts';
import { ownerReference } from '../../../src/operator/names.ts';
import {
  desiredRoutingConfigMap,
  desiredShardsConfigMap,
  desiredTrustConfigMap,
  initialEpochTable,
  trustConfigMapOf,
} from '../../../src/operator/specs/config-maps.ts';
import {
  desiredCoordinatorDeployment,
  desiredCoordinatorVolumeClaim,
} from '../../../src/operator/specs/coordinator.ts';
import {
  KeySecretError,
  desiredKeySecret,
  keyOrigin,
  publicKeysOfSecret,
} from '../../../src/operator/specs/key-secrets.ts';
import { desiredServiceAccounts } from '../../../src/operator/specs/service-accounts.ts';
import {
  desiredCoordinatorService,
  desiredShardService,
} from '../../../src/operator/specs/services.ts';
import { desiredShardPdb } from '../../../src/operator/specs/shard-pdb.ts';
import {
  desiredShardStatefulSet,
  keySlots,
} from '../../../src/operator/specs/shard-statefulset.ts';
import { validateShardList } from '../../../src/coordinator/shard-list-file.ts';
import { validateTrustBundle } from '../../../src/clients/trust.ts';
import { OPTIONS, cluster } from './fixtures.ts';

const NOW = new Date('2026-12-06T12:00:00.000Z');

/** A Secret as the apiserver returns it: stringData folded into base64 data. */
function stored(secret: ReturnType<typeof desiredKeySecret>) {
  const data = Object.fromEntries(
    Object.entries(secret.stringData ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v, 'utf8').toString('base64'),
    ]),
  );
  return { ...secret, data, stringData: undefined };
}

describe('owner references', () => {
  it('make the cluster the controller of what it owns', () => {
    const c = cluster().build();
    expect(ownerReference(c)).toEqual({
      apiVersion: 'agdr.dev/v1alpha1',
      kind: 'AgDRCluster',
      name: 'decisions',
      uid: 'uid-1',
      controller: true,
      blockOwnerDeletion: true,
    });
    const owned = [
      desiredShardStatefulSet(c, {}, OPTIONS),
      desiredShardService(c),
      desiredShardPdb(c),
      desiredCoordinatorDeployment(c, OPTIONS),
      desiredCoordinatorService(c),
      desiredShardsConfigMap(c, []),
      ...desiredServiceAccounts(c),
    ];
    for (const o of owned) {
      expect(o.metadata?.ownerReferences).toEqual([ownerReference(c)]);
      expect(o.metadata?.namespace).toBe('prod');
      expect(o.metadata?.labels?.['app.kubernetes.io/instance']).toBe('decisions');
      expect(o.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('agdr-operator');
    }
  });

  it('are absent from what outlives the cluster: volumes, keys, routing table, trust bundle', () => {
    const c = cluster().build();
    const kept = [
      desiredCoordinatorVolumeClaim(c),
      desiredKeySecret(c, { role: 'shard', shardId: 0 }, new Uint8Array(32), NOW),
      desiredRoutingConfigMap(c, {}),
      desiredTrustConfigMap(c, []),
      trustConfigMapOf(c, []),
    ];
    for (const o of kept) {
      expect(o.metadata, o.metadata?.name).not.toHaveProperty('ownerReferences');
      // Still the cluster's: found by its labels, adopted by a cluster of the same name.
      expect(o.metadata?.namespace).toBe('prod');
      expect(o.metadata?.labels?.['app.kubernetes.io/instance']).toBe('decisions');
      expect(o.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('agdr-operator');
    }
  });
});

describe('shard StatefulSet', () => {
  const c = cluster()
    .withShards(4)
    .with({
      storage: { size: '20Gi', storageClassName: 'fast' },
      resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: 1024 } },
    })
    .build();
  const sts = desiredShardStatefulSet(c, {}, OPTIONS);
  const pod = sts.spec?.template.spec;
  const container = pod?.containers[0];

  it('runs spec.shards pods in parallel with retained volumes', () => {
    expect(sts.metadata?.name).toBe('decisions-shard');
    expect(sts.spec?.replicas).toBe(4);
    expect(sts.spec?.podManagementPolicy).toBe('Parallel');
    expect(sts.spec?.serviceName).toBe('decisions-shard');
    expect(sts.spec?.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    expect(sts.spec?.volumeClaimTemplates?.[0]?.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '20Gi' } },
      storageClassName: 'fast',
    });
  });

  it('runs the planned replicas, not spec.shards, once it exists', () => {
    const scaled = cluster().withShards(6).build();
    expect(desiredShardStatefulSet(scaled, { replicas: 4 }, OPTIONS).spec?.replicas).toBe(4);
  });

  it('keeps the pod template when the replicas change within the key slots', () => {
    const at = (n: number) => desiredShardStatefulSet(cluster().build(), { replicas: n }, OPTIONS);
    expect(at(5).spec?.template).toEqual(at(3).spec?.template);
    expect(at(16).spec?.template).toEqual(at(2).spec?.template);
    expect(at(17).spec?.template).not.toEqual(at(16).spec?.template);
    expect(keySlots(17)).toBe(32);
    expect(keySlots(1024)).toBe(1024);
  });

  it('takes the shard id from the pod-index label and listens on the pod IP', () => {
    expect(container?.env).toEqual([
      {
        name: 'SHARD_ID',
        valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } },
      },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ]);
    const args = container?.args ?? [];
    expect(args[0]).toBe('shard');
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(flag('--shard-id')).toBe('$(SHARD_ID)');
    expect(flag('--host')).toBe('$(POD_IP)');
    expect(flag('--port')).toBe('7071');
    expect(flag('--namespace')).toBe('prod');
    expect(flag('--cluster')).toBe('decisions');
    expect(flag('--routing')).toBe('/etc/agdr/routing/routing.json');
    expect(flag('--key')).toBe('/etc/agdr/keys/shard-$(SHARD_ID).json');
    expect(flag('--data')).toBe('/var/lib/agdr');
    expect(container?.image).toBe('agdr:test');
    expect(
      desiredShardStatefulSet(cluster().with({ image: 'x:1' }).build(), {}, OPTIONS).spec?.template
        .spec?.containers[0]?.image,
    ).toBe('x:1');
  });

  it('probes /readyz and /healthz, with a startup allowance for recovery', () => {
    expect(container?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 7071 });
    expect(container?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 7071 });
    const startup = container?.startupProbe;
    expect(startup?.httpGet?.path).toBe('/readyz');
    expect((startup?.periodSeconds ?? 0) * (startup?.failureThreshold ?? 0)).toBeGreaterThanOrEqual(
      1800,
    );
    expect(pod?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });

  it('is restricted: non-root, read-only root, no escalation, no capabilities', () => {
    expect(pod?.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.serviceAccountName).toBe('decisions-shard');
  });

  it('spreads shards across nodes and carries spec.resources', () => {
    expect(pod?.topologySpreadConstraints?.[0]).toMatchObject({
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
    });
    expect(container?.resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { memory: '1024' },
    });
  });

  it('mounts each shard key as shard-<id>.json and the routing table', () => {
    const keys = pod?.volumes?.find((v) => v.name === 'keys');
    expect(keys?.projected?.sources?.map((s) => s.secret?.name)).toEqual(
      Array.from({ length: 16 }, (_, id) => `decisions-shard-${id}-key`),
    );
    expect(keys?.projected?.sources?.[2]?.secret).toEqual({
      name: 'decisions-shard-2-key',
      items: [{ key: 'key.json', path: 'shard-2.json' }],
      optional: true,
    });
    expect(pod?.volumes?.find((v) => v.name === 'routing')?.configMap?.name).toBe(
      'decisions-routing',
    );
  });
});

describe('Services and PodDisruptionBudget', () => {
  const c = cluster().build();
  it('give the shards a headless Service and the coordinator a ClusterIP one', () => {
    const shard = desiredShardService(c);
    expect(shard.spec?.clusterIP).toBe('None');
    expect(shard.spec?.selector).toEqual({
      'app.kubernetes.io/name': 'agdr',
      'app.kubernetes.io/instance': 'decisions',
      'app.kubernetes.io/component': 'shard',
    });
    const coord = desiredCoordinatorService(c);
    expect(coord.spec?.ports?.[0]?.port).toBe(7070);
    expect(coord.spec?.selector?.['app.kubernetes.io/component']).toBe('coordinator');
  });
  it('let one shard at a time be disrupted', () => {
    const pdb = desiredShardPdb(c);
    expect(pdb.spec?.maxUnavailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels?.['app.kubernetes.io/component']).toBe('shard');
  });
  it('ServiceAccounts mount no token', () => {
    expect(
      desiredServiceAccounts(c).map((s) => [s.metadata?.name, s.automountServiceAccountToken]),
    ).toEqual([
      ['decisions-shard', false],
      ['decisions-coordinator', false],
    ]);
  });
});

describe('coordinator', () => {
  it('is one Recreate replica reading the shard list, trust bundle and routing files', () => {
    const c = cluster()
      .with({
        aggregation: { interval: '1s', shardTimeout: '500ms' },
        publishUrl: 'https://witness.example/v1',
      })
      .build();
    const d = desiredCoordinatorDeployment(c, OPTIONS);
    expect(d.spec?.replicas).toBe(1);
    expect(d.spec?.strategy?.type).toBe('Recreate');
    const args = d.spec?.template.spec?.containers[0]?.args ?? [];
    const flag = (name: string): string | undefined => args[args.indexOf(name) + 1];
    expect(args[0]).toBe('coordinator');
    expect(flag('--shards-file')).toBe('/etc/agdr/shards/shards.json');
    expect(flag('--trust')).toBe('/etc/agdr/trust/trust.json');
    expect(flag('--routing')).toBe('/etc/agdr/routing/routing.json');
    expect(flag('--key')).toBe('/etc/agdr/keys/key.json');
    expect(flag('--interval')).toBe('1s');
    expect(flag('--shard-timeout')).toBe('500ms');
    expect(flag('--publish-url')).toBe('https://witness.example/v1');
    expect(flag('--host')).toBe('$(POD_IP)');
    const vols = d.spec?.template.spec?.volumes ?? [];
    expect(vols.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName).toBe(
      'decisions-coordinator-data',
    );
    expect(vols.find((v) => v.name === 'key')?.secret?.secretName).toBe(
      'decisions-coordinator-key',
    );
    expect(vols.find((v) => v.name === 'shards')?.configMap?.name).toBe('decisions-shards');
  });
  it('omits optional flags the spec leaves out', () => {
    const args = desiredCoordinatorDeployment(cluster().build(), OPTIONS).spec?.template.spec
      ?.containers[0]?.args;
    expect(args).not.toContain('--shard-timeout');
    expect(args).not.toContain('--publish-url');
  });
  it('asks for a volume of the spec storage size', () => {
    expect(desiredCoordinatorVolumeClaim(cluster().build()).spec?.resources?.requests).toEqual({
      storage: '10Gi',
    });
  });
});

describe('routing ConfigMap', () => {
  it('starts at epoch 0 over spec.shards with the spec strategy and parameters', () => {
    const c = cluster()
      .withShards(4)
      .with({
        routing: {
          strategy: 'domain-partitioned',
          bucket: 'jump',
          domainMap: { a: 1 },
          defaultShard: 3,
        },
      })
      .build();
    const table = initialEpochTable(c);
    expect(validateEpochTable(table)).toEqual(table);
    expect(table.epochs).toEqual([
      {
        epoch: 0,
        strategy: 'domain-partitioned',
        key_pointers: defaultKeyPointers('domain-partitioned'),
        bucket: 'jump',
        shards: 4,
        params: { map: { a: 1 }, default: 3 },
        effective_from_ns: '0',
      },
    ]);
  });
  it('covers the shards the StatefulSet already runs when none is published', () => {
    const cm = desiredRoutingConfigMap(cluster().withShards(5).build(), { replicas: 3 });
    expect(
      (JSON.parse(cm.data?.['routing.json'] ?? '') as { epochs: { shards: number }[] }).epochs[0]
        ?.shards,
    ).toBe(3);
  });

  it('keeps a published table as it is', () => {
    const published = initialEpochTable(cluster().withShards(2).build());
    const cm = desiredRoutingConfigMap(cluster().withShards(5).build(), { table: published });
    expect(JSON.parse(cm.data?.['routing.json'] ?? '')).toEqual(published);
  });
});

describe('shard list ConfigMap', () => {
  it('lists each shard pod IP in id order and what the coordinator accepts', () => {
    const cm = desiredShardsConfigMap(cluster().build(), [
      { id: 1, podIP: '10.244.0.7' },
      { id: 0, podIP: '10.244.0.9' },
      { id: 2 },
      { id: 3, podIP: 'fd00::5' },
    ]);
    const value: unknown = JSON.parse(cm.data?.['shards.json'] ?? '');
    expect(value).toEqual({
      shards: [
        { id: 0, url: 'http://10.244.0.9:7071' },
        { id: 1, url: 'http://10.244.0.7:7071' },
        { id: 3, url: 'http://[fd00::5]:7071' },
      ],
    });
    expect(validateShardList(value)).toEqual({
      kind: 'list',
      shards: (value as { shards: unknown }).shards,
    });
  });
});

describe('key Secrets and the trust bundle', () => {
  const c = cluster().build();

  it('hold a key file the shard loads, under its origin, with group-read mode', async () => {
    const seed = new Uint8Array(randomBytes(32));
    const owner = { role: 'shard' as const, shardId: 1 };
    const secret = desiredKeySecret(c, owner, seed, NOW);
    expect(secret.immutable).toBe(true);
    expect(secret.metadata?.name).toBe('decisions-shard-1-key');
    expect(secret.metadata?.labels?.['agdr.dev/shard-id']).toBe('1');
    const dir = await mkdtemp(path.join(tmpdir(), 'agdr-key-'));
    try {
      const file = path.join(dir, 'shard-1.json');
      await writeFile(file, secret.stringData?.['key.json'] ?? '', { mode: 0o440 });
      await chmod(file, 0o440);
      const signer = await loadOrCreateFileSigner(file, 'agdr.dev/prod/decisions/shard-1');
      const [published] = publicKeysOfSecret(stored(secret), keyOrigin(c, owner));
      expect(published?.keyVersion).toBe(1);
      expect(published?.publicKey).toEqual(signer.publicKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuse a Secret for another origin or without a key file', () => {
    const other = stored(
      desiredKeySecret(c, { role: 'shard', shardId: 2 }, new Uint8Array(32), NOW),
    );
    expect(() => publicKeysOfSecret(other, keyOrigin(c, { role: 'shard', shardId: 1 }))).toThrow(
      KeySecretError,
    );
    expect(() => publicKeysOfSecret({ metadata: { name: 'x' }, data: {} }, 'o')).toThrow(
      /key.json/,
    );
    const garbage = { metadata: { name: 'x' }, data: { 'key.json': btoa('{"format":"nope"}') } };
    expect(() => publicKeysOfSecret(garbage, 'o')).toThrow(/agdr-ed25519-keys/);
  });

  it('publish every key in a bundle the coordinator accepts, shards first', () => {
    const sources = [
      { role: 'coordinator' as const, origin: keyOrigin(c, { role: 'coordinator' }) },
      { role: 'shard' as const, shardId: 1, origin: keyOrigin(c, { role: 'shard', shardId: 1 }) },
      { role: 'shard' as const, shardId: 0, origin: keyOrigin(c, { role: 'shard', shardId: 0 }) },
    ].map((s) => ({
      ...s,
      keys: publicKeysOfSecret(
        stored(
          desiredKeySecret(
            c,
            s.role === 'shard'
              ? { role: 'shard', shardId: s.shardId ?? 0 }
              : { role: 'coordinator' },
            new Uint8Array(randomBytes(32)),
            NOW,
          ),
        ),
        s.origin,
      ),
    }));
    const cm = desiredTrustConfigMap(c, sources);
    const bundle = validateTrustBundle(JSON.parse(cm.data?.['trust.json'] ?? ''));
    expect(bundle.keys.map((k) => [k.role, k.shard_id, k.origin])).toEqual([
      ['shard', 0, 'agdr.dev/prod/decisions/shard-0'],
      ['shard', 1, 'agdr.dev/prod/decisions/shard-1'],
      ['coordinator', undefined, 'agdr.dev/prod/decisions/coordinator'],
    ]);
    for (const k of bundle.keys) {
      expect(parseVerifierKey(k.verifier_key).name).toBe(k.origin);
      expect(k.valid_until_ns).toBeNull();
    }
    // The same keys in another order make the same ConfigMap: no needless writes.
    expect(desiredTrustConfigMap(c, [...sources].reverse())).toEqual(cm);
  });

  it('keeps key material as base64 of the key file, nothing else', () => {
    const secret = stored(desiredKeySecret(c, { role: 'coordinator' }, new Uint8Array(32), NOW));
    const doc = JSON.parse(utf8.decode(fromBase64(secret.data['key.json'] ?? ''))) as {
      name: string;
      versions: unknown[];
    };
    expect(doc.name).toBe('agdr.dev/prod/decisions/coordinator');
    expect(doc.versions).toHaveLength(1);
  });
});
