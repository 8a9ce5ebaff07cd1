// The AgDRCluster CRD on a real kube-apiserver: it is accepted and Established, the apiserver
// fills in the schema defaults, rejects invalid objects with the field path and message,
// prints the columns, and serves the status and scale subresources.
import { readFileSync } from 'node:fs';

import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

import { AGDR_API_VERSION, AGDR_KIND } from '../../src/operator/types.ts';
import type { AgDRCluster, AgDRClusterStored } from '../../src/operator/types.ts';
import { applyCrd } from './harness/agdr-operator.ts';
import { clusterKubectl } from './harness/context.ts';
import type { Kubectl } from './harness/kubectl.ts';

const EXAMPLE_FILE = new URL('../../examples/agdrcluster.yaml', import.meta.url);

let k: Kubectl;
let ns: string;

function manifest(name: string, spec: object): string {
  return stringify({
    apiVersion: AGDR_API_VERSION,
    kind: AGDR_KIND,
    metadata: { name, namespace: ns },
    spec,
  });
}

async function get(name: string): Promise<AgDRClusterStored> {
  return k.getJson<AgDRClusterStored>([`agdrcluster/${name}`, '-n', ns]);
}

/** `kubectl patch --type=merge` of one AgDRCluster, optionally through a subresource. */
async function mergePatch(name: string, patch: object, subresource?: 'status'): Promise<string> {
  const via = subresource === undefined ? [] : [`--subresource=${subresource}`];
  return k.run([
    'patch',
    `agdr/${name}`,
    '-n',
    ns,
    ...via,
    '--type=merge',
    '-p',
    JSON.stringify(patch),
  ]);
}

/** Applies `text` expecting the apiserver to refuse it; returns kubectl's error text. */
async function rejection(text: string): Promise<string> {
  try {
    await k.apply(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`the apiserver accepted an invalid object:\n${text}`);
}

describe('AgDRCluster CRD', () => {
  beforeAll(async () => {
    k = clusterKubectl();
    await applyCrd(k);
    ns = await k.createNamespace('agdr-crd');
    // Discovery can lag a moment behind Established; kubectl re-reads it on a miss.
    await k.waitFor(
      'agdr resource served',
      async () => {
        await k.run(['get', 'agdr', '-n', ns]);
        return null;
      },
      30_000,
    );
  });

  it('fills in the schema defaults of a minimal object', async () => {
    await k.apply(manifest('minimal', {}));
    const stored = await get('minimal');
    expect(stored.spec).toEqual({
      shards: 3,
      routing: { strategy: 'hash-by-entity', bucket: 'jump' },
      aggregation: { interval: '60s' },
      keys: { provider: 'vault', rotation: { interval: '720h' } },
      storage: { size: '10Gi' },
      scaling: { epochLeadTime: '5m' },
    });

    await k.apply(manifest('vault-defaults', { keys: { vault: { address: 'http://v:8200' } } }));
    expect((await get('vault-defaults')).spec.keys.vault).toEqual({
      address: 'http://v:8200',
      transitMount: 'transit',
      authMount: 'jwt',
      audience: 'vault',
    });
  });

  it('accepts the documented example and keeps every field', async () => {
    const example = parse(readFileSync(EXAMPLE_FILE, 'utf8')) as AgDRCluster;
    example.metadata.namespace = ns;
    await k.apply(stringify(example));
    const stored = await get(example.metadata.name);
    expect(stored.spec).toEqual(example.spec);
  });

  it('accepts time- and domain-partitioned routing with their parameters', async () => {
    await k.apply(
      manifest('timed', { routing: { strategy: 'time-partitioned', windowNs: '3600000000000' } }),
    );
    expect((await get('timed')).spec.routing).toEqual({
      strategy: 'time-partitioned',
      bucket: 'jump',
      windowNs: '3600000000000',
    });
    await k.apply(
      manifest('domains', {
        shards: 2,
        routing: { strategy: 'domain-partitioned', domainMap: { lending: 1 }, defaultShard: 0 },
      }),
    );
    expect((await get('domains')).spec.routing.domainMap).toEqual({ lending: 1 });
  });

  it('takes ingest authentication and authenticated reads, defaulting mode and access', async () => {
    await k.apply(
      manifest('authed', {
        ingest: { authentication: { allowedServiceAccounts: [{ namespace: 'agents' }] } },
        reads: {},
      }),
    );
    const spec = (await get('authed')).spec;
    expect(spec.ingest).toEqual({
      authentication: { mode: 'none', allowedServiceAccounts: [{ namespace: 'agents' }] },
    });
    expect(spec.reads).toEqual({ access: 'open' });
    const both = {
      ingest: {
        authentication: {
          mode: 'serviceAccountToken',
          audience: 'agdr.dev/prod/ledger',
          allowedServiceAccounts: [{ namespace: 'agents', name: 'desk' }],
        },
      },
      reads: { access: 'authenticated', allowedServiceAccounts: [{ namespace: 'audit' }] },
    };
    await k.apply(manifest('authed2', both));
    expect((await get('authed2')).spec).toMatchObject(both);
  });

  it('serves the field descriptions to kubectl explain', async () => {
    const text = await k.run(['explain', 'agdr.spec.routing.windowNs']);
    expect(text).toContain('Window length in nanoseconds for time-partitioned');
  });

  it('rejects invalid objects with the field path and message', async () => {
    const cases: { spec: object; expect: string[] }[] = [
      { spec: { shards: 0 }, expect: ['spec.shards', 'greater than or equal to 1'] },
      { spec: { shards: 2000 }, expect: ['spec.shards', 'less than or equal to 1024'] },
      {
        spec: { routing: { strategy: 'round-robin' } },
        expect: ['spec.routing.strategy', 'Unsupported value: "round-robin"'],
      },
      {
        spec: { routing: { strategy: 'time-partitioned' } },
        expect: [
          'spec.routing.windowNs',
          'routing.windowNs is required when routing.strategy is time-partitioned',
        ],
      },
      {
        spec: { routing: { strategy: 'time-partitioned', windowNs: '0' } },
        expect: ['spec.routing.windowNs', 'should match'],
      },
      {
        spec: { routing: { strategy: 'domain-partitioned', domainMap: { a: 0 } } },
        expect: [
          'spec.routing.defaultShard',
          'required when routing.strategy is domain-partitioned',
        ],
      },
      {
        spec: {
          shards: 2,
          routing: { strategy: 'domain-partitioned', domainMap: { a: 2 }, defaultShard: 0 },
        },
        expect: ['spec.routing.domainMap', 'must be below spec.shards'],
      },
      {
        spec: { aggregation: { interval: '1 minute' } },
        expect: ['spec.aggregation.interval', 'should match'],
      },
      {
        spec: { aggregation: { interval: '500ms' } },
        expect: ['spec.aggregation.interval', 'must be at least 1s'],
      },
      {
        spec: { aggregation: { interval: '10s', shardTimeout: '10s' } },
        expect: ['spec.aggregation.shardTimeout', 'shorter than aggregation.interval'],
      },
      {
        spec: { aggregation: { interval: '60s', shardTimeout: '0s' } },
        expect: ['spec.aggregation.shardTimeout', 'must be greater than zero'],
      },
      {
        spec: { keys: { rotation: { interval: '30s' } } },
        expect: ['spec.keys.rotation.interval', 'must be at least 1m'],
      },
      {
        spec: { keys: { rotation: { interval: '30 days' } } },
        expect: ['spec.keys.rotation.interval', 'should match'],
      },
      {
        spec: { keys: { rotation: { retainVersions: 0 } } },
        expect: ['spec.keys.rotation.retainVersions', 'greater than or equal to 1'],
      },
      { spec: { storage: { size: 'big' } }, expect: ['spec.storage.size', 'should match'] },
      {
        spec: { ingest: { authentication: { mode: 'serviceAccountToken' } } },
        expect: [
          'spec.ingest.authentication.allowedServiceAccounts',
          'must name at least one ServiceAccount or namespace',
        ],
      },
      {
        spec: { ingest: { authentication: { mode: 'mtls' } } },
        expect: ['spec.ingest.authentication.mode', 'Unsupported value: "mtls"'],
      },
      {
        spec: {
          ingest: {
            authentication: {
              mode: 'serviceAccountToken',
              allowedServiceAccounts: [{ namespace: 'Agents' }],
            },
          },
        },
        expect: ['spec.ingest.authentication.allowedServiceAccounts[0].namespace', 'should match'],
      },
      {
        spec: { reads: { access: 'authenticated' } },
        expect: ['spec.reads.access', 'needs ingest.authentication.mode serviceAccountToken'],
      },
    ];
    for (const [i, c] of cases.entries()) {
      const message = await rejection(manifest(`bad-${i}`, c.spec));
      for (const part of c.expect) expect(message, JSON.stringify(c.spec)).toContain(part);
      // A value that fails the pattern must not also reach a CEL rule that cannot parse it.
      expect(message).not.toContain('evaluating rule');
    }
    const names = await k.run(['get', 'agdr', '-n', ns, '-o', 'name']);
    expect(names).not.toContain('bad-');
  });

  it('refuses to change routing.strategy or routing.bucket in place', async () => {
    await k.apply(manifest('fixed', { shards: 2 }));
    const strategy = await rejection(
      manifest('fixed', { shards: 2, routing: { strategy: 'hash-by-session' } }),
    );
    expect(strategy).toContain('spec.routing.strategy');
    expect(strategy).toContain('routing.strategy is immutable');
    const bucket = await rejection(manifest('fixed', { shards: 2, routing: { bucket: 'modulo' } }));
    expect(bucket).toContain('spec.routing.bucket');
    expect(bucket).toContain('routing.bucket is immutable');

    // Scaling is the change that is allowed.
    await k.apply(manifest('fixed', { shards: 4 }));
    const stored = await get('fixed');
    expect(stored.spec.shards).toBe(4);
    expect(stored.spec.routing).toEqual({ strategy: 'hash-by-entity', bucket: 'jump' });
  });

  it('serves status and scale subresources and prints the columns', async () => {
    await k.apply(manifest('scaled', { shards: 3 }));
    const status = {
      observedGeneration: 1,
      readyShards: 2,
      selector: 'app.kubernetes.io/instance=scaled,app.kubernetes.io/component=shard',
      routingEpoch: 1,
      globalRoot: { id: 42, root: 'ab'.repeat(32), timestampNs: '1767225600000000000' },
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          lastTransitionTime: '2026-01-01T00:00:00Z',
          reason: 'ShardsNotReady',
          message: '2 of 3 shards ready',
        },
      ],
      shardStatus: [
        { id: 0, ready: true, treeSize: 10, keyVersion: 1, publicKey: 'agdr.dev/x+01020304+AQ==' },
      ],
      migrations: [
        {
          epoch: 1,
          from: 2,
          to: 3,
          phase: 'ProvisioningShards',
          startedAt: '2026-01-01T00:00:00Z',
        },
      ],
      missingShards: [{ id: 2, since: '2026-01-01T00:00:00Z', reason: 'unreachable' }],
    };
    await mergePatch('scaled', { status }, 'status');
    expect((await get('scaled')).status).toEqual(status);

    // Status is ignored through the main resource.
    await mergePatch('scaled', { status: { readyShards: 9 } });
    expect((await get('scaled')).status?.readyShards).toBe(2);

    // The status schema is enforced too.
    const bad = await mergePatch(
      'scaled',
      { status: { migrations: [{ epoch: 2, from: 3, to: 4, phase: 'Sideways' }] } },
      'status',
    ).then(
      () => 'accepted',
      (err: Error) => err.message,
    );
    expect(bad).toContain('status.migrations[0].phase');

    await k.run(['scale', 'agdr/scaled', '-n', ns, '--replicas=5']);
    expect((await get('scaled')).spec.shards).toBe(5);

    // The schema bounds hold through the scale subresource as well.
    const zero = await k.run(['scale', 'agdr/scaled', '-n', ns, '--replicas=0']).then(
      () => 'accepted',
      (err: Error) => err.message,
    );
    expect(zero).toContain('spec.shards');
    expect(zero).toContain('greater than or equal to 1');

    const scale: unknown = JSON.parse(
      await k.run(['get', 'agdr/scaled', '-n', ns, '--subresource=scale', '-o', 'json']),
    );
    expect(scale).toMatchObject({
      kind: 'Scale',
      spec: { replicas: 5 },
      status: { replicas: 2, selector: status.selector },
    });

    const table = (await k.run(['get', 'agdr', 'scaled', '-n', ns])).trim().split('\n');
    expect(table[0]?.split(/\s{2,}/)).toEqual([
      'NAME',
      'SHARDS',
      'READY',
      'EPOCH',
      'GLOBAL ROOT',
      'AGE',
    ]);
    expect(table[1]?.split(/\s+/).slice(0, 5)).toEqual(['scaled', '5', '2', '1', '42']);
  });
});
