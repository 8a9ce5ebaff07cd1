import { describe, expect, it } from 'vitest';
import { fromHex } from '../../../src/core/bytes.ts';
import type { TransitKeyInfo } from '../../../src/keys/transit.ts';
import {
  clusterKeyPrefix,
  clusterKeysPlan,
  KeyPlanError,
  operatorPolicy,
  signingPolicy,
  transitKeyName,
  trimPlan,
  type ClusterKeysInput,
} from '../../../src/keys/vault-plan.ts';

const input = (over: Partial<ClusterKeysInput> = {}): ClusterKeysInput => ({
  namespace: 'trading',
  cluster: 'desk-a',
  shards: [0, 1].map((shard) => ({
    shard,
    podName: `desk-a-shard-${shard}`,
    serviceAccount: 'desk-a-shard',
  })),
  coordinator: { podName: 'desk-a-coordinator-0', serviceAccount: 'desk-a-coordinator' },
  transitMount: 'transit',
  jwtMount: 'jwt',
  audience: 'vault',
  tokenTtlSeconds: 600,
  tokenMaxTtlSeconds: 3600,
  ...over,
});

function planError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof KeyPlanError) return e.path;
    throw e;
  }
  return 'no error';
}

describe('key names', () => {
  it('name every key from namespace, cluster and shard', () => {
    expect(transitKeyName('trading', 'desk-a', { shard: 3 })).toBe('agdr_trading_desk-a_shard-3');
    expect(transitKeyName('trading', 'desk-a', 'coordinator')).toBe(
      'agdr_trading_desk-a_coordinator',
    );
  });

  it('never let two clusters share a name or a prefix', () => {
    // Pairs that a '-' or '.' separator would run together.
    const pairs: [string, string][] = [
      ['a-b', 'c'],
      ['a', 'b-c'],
      ['a', 'b.c'],
      ['a', 'b'],
      ['a', 'b.shard-1'],
    ];
    const names = pairs.map(([ns, c]) => transitKeyName(ns, c, { shard: 1 }));
    expect(new Set(names).size).toBe(names.length);
    const prefixes = pairs.map(([ns, c]) => clusterKeyPrefix(ns, c));
    for (const p of prefixes) {
      const covered = names.filter((n) => n.startsWith(p));
      expect(covered).toHaveLength(1);
    }
  });

  it('refuse names that are not Kubernetes names, with the field', () => {
    expect(planError(() => transitKeyName('Trading', 'a', { shard: 0 }))).toBe('namespace');
    expect(planError(() => transitKeyName('t', 'a_b', { shard: 0 }))).toBe('cluster');
    expect(planError(() => transitKeyName('t', 'a', { shard: -1 }))).toBe('shard');
  });
});

describe('cluster key plan', () => {
  it('gives every shard and the coordinator a non-exportable key, a sign-only policy and a pod-bound role', () => {
    const plans = clusterKeysPlan(input());
    expect(plans.map((p) => p.name)).toEqual([
      'agdr_trading_desk-a_shard-0',
      'agdr_trading_desk-a_shard-1',
      'agdr_trading_desk-a_coordinator',
    ]);
    const s1 = plans[1]!;
    expect(s1.keyPath).toBe('transit/keys/agdr_trading_desk-a_shard-1');
    expect(s1.keyBody).toEqual({
      type: 'ed25519',
      exportable: false,
      allow_plaintext_backup: false,
    });
    expect(s1.policyPath).toBe('sys/policies/acl/agdr_trading_desk-a_shard-1');
    expect(s1.policy).toContain('path "transit/sign/agdr_trading_desk-a_shard-1" {');
    expect(s1.policy).toContain('path "transit/keys/agdr_trading_desk-a_shard-1" {');
    expect(s1.policy.match(/path "/g)).toHaveLength(2);
    expect(s1.policy).not.toMatch(/\*|export|backup|delete/);
    expect(s1.rolePath).toBe('auth/jwt/role/agdr_trading_desk-a_shard-1');
    expect(s1.role).toEqual({
      role_type: 'jwt',
      bound_audiences: ['vault'],
      bound_subject: 'system:serviceaccount:trading:desk-a-shard',
      bound_claims_type: 'string',
      bound_claims: {
        '/kubernetes.io/namespace': 'trading',
        '/kubernetes.io/pod/name': 'desk-a-shard-1',
      },
      user_claim: '/kubernetes.io/pod/name',
      user_claim_json_pointer: true,
      token_policies: ['agdr_trading_desk-a_shard-1'],
      token_ttl: 600,
      token_max_ttl: 3600,
      token_type: 'service',
    });
  });

  it('binds a signer without a stable pod name by ServiceAccount and namespace only', () => {
    const plans = clusterKeysPlan(
      input({ coordinator: { podName: undefined, serviceAccount: 'desk-a-coordinator' } }),
    );
    const role = plans.at(-1)!.role;
    expect(role.bound_claims).toEqual({ '/kubernetes.io/namespace': 'trading' });
    expect(role.user_claim).toBe('/kubernetes.io/serviceaccount/name');
  });

  it('refuses a shard listed twice, bad pod names and TTLs, naming the field', () => {
    const twice = input().shards.concat(input().shards[0]!);
    expect(planError(() => clusterKeysPlan(input({ shards: twice })))).toBe('shards[2].shard');
    const bad = [{ shard: 0, podName: 'Pod_0', serviceAccount: 'sa' }];
    expect(planError(() => clusterKeysPlan(input({ shards: bad })))).toBe('shards[0].podName');
    expect(planError(() => clusterKeysPlan(input({ tokenMaxTtlSeconds: 60 })))).toBe(
      'tokenTtlSeconds',
    );
  });

  it('the operator policy covers its prefixes and cannot sign', () => {
    const hcl = operatorPolicy('transit', 'jwt', [clusterKeyPrefix('trading', 'desk-a')]);
    expect(hcl).toContain('path "transit/keys/agdr_trading_desk-a_*"');
    expect(hcl).toContain('path "auth/jwt/role/agdr_trading_desk-a_*"');
    expect(hcl).toContain('path "sys/policies/acl/agdr_trading_desk-a_*"');
    expect(hcl).not.toMatch(/\/sign\//);
    expect(hcl).not.toContain('delete');
    expect(signingPolicy('kv/transit', 'k')).toContain('path "kv/transit/sign/k"');
  });
});

describe('trim plan', () => {
  const pub = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  const info = (latest: number, minAvailable = 0): TransitKeyInfo => ({
    name: 'k',
    latestVersion: latest,
    minEncryptionVersion: latest,
    minSigningVersion: Math.max(1, minAvailable),
    minDecryptionVersion: Math.max(1, minAvailable),
    minAvailableVersion: minAvailable,
    versions: Array.from({ length: latest - Math.max(1, minAvailable) + 1 }, (_, i) => ({
      version: Math.max(1, minAvailable) + i,
      publicKey: pub,
      createdAt: '',
    })),
  });

  it('keeps the newest retainVersions and lists the versions it removes', () => {
    const plan = trimPlan(info(5), 2);
    expect(plan?.minVersion).toBe(4);
    expect(plan?.removed.map((v) => v.version)).toEqual([1, 2, 3]);
  });

  it('does nothing when there is nothing older to remove', () => {
    expect(trimPlan(info(2), 2)).toBeUndefined();
    expect(trimPlan(info(1), 1)).toBeUndefined();
    expect(trimPlan(info(5, 4), 2)).toBeUndefined();
    expect(trimPlan(info(6, 4), 2)?.removed.map((v) => v.version)).toEqual([4]);
  });

  it('refuses retainVersions below 1', () => {
    expect(planError(() => trimPlan(info(3), 0))).toBe('retainVersions');
  });
});
