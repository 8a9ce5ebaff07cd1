// The AgDRCluster CRD file and src/operator/types.ts describe the same object: names,
// subresources, defaults and enums agree, and a fully populated object typed as AgDRCluster
// uses exactly the properties the schema declares (every one of them, and no other).
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import {
  AGDR_API_VERSION,
  AGDR_GROUP,
  AGDR_KIND,
  AGDR_PLURAL,
  AGDR_SHORT_NAME,
  AGDR_SPEC_DEFAULTS,
  AGDR_VERSION,
  BUCKET_FUNCTIONS,
  KEY_PROVIDERS,
  MAX_SHARDS,
  MIGRATION_PHASES,
  MIN_SHARDS,
  ROUTING_STRATEGIES,
  SHARD_PHASES,
} from '../../../src/operator/types.ts';
import type { AgDRCluster } from '../../../src/operator/types.ts';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string }[];
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
    };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: object; scale: Record<string, string> };
      additionalPrinterColumns: { name: string; type: string; jsonPath: string }[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');
const crd = parse(read('../../../crds/agdr.dev_agdrclusters.yaml')) as Crd;
const version = crd.spec.versions[0]!;
const root = version.schema.openAPIV3Schema;
const specSchema = root.properties!['spec']!;
const statusSchema = root.properties!['status']!;

/** The schema node at a dotted path below `spec` or `status`. */
function at(base: Schema, path: string): Schema {
  let node = base;
  for (const key of path.split('.')) {
    const next = node.properties?.[key];
    if (next === undefined) throw new Error(`no schema property ${path}`);
    node = next;
  }
  return node;
}

/**
 * Checks `value` against `schema` (properties, type, enum, pattern, bounds, required) and
 * returns one line per problem; also records every schema path the value visited.
 */
function check(value: unknown, schema: Schema, path: string, seen: Set<string>): string[] {
  seen.add(path);
  const problems: string[] = [];
  if (schema['x-kubernetes-preserve-unknown-fields']) return problems;
  switch (schema.type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        return [`${path}: not an object`];
      }
      for (const name of schema.required ?? []) {
        if (!(name in value)) problems.push(`${path}.${name}: required`);
      }
      for (const [key, member] of Object.entries(value)) {
        const sub = schema.properties?.[key] ?? schema.additionalProperties;
        if (sub === undefined) problems.push(`${path}.${key}: not in the schema`);
        else
          problems.push(
            ...check(member, sub, schema.properties ? `${path}.${key}` : `${path}.*`, seen),
          );
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: not an array`];
      value.forEach((item) => problems.push(...check(item, schema.items!, `${path}[]`, seen)));
      break;
    case 'integer':
      if (!Number.isInteger(value)) problems.push(`${path}: not an integer`);
      if (schema.minimum !== undefined && (value as number) < schema.minimum)
        problems.push(`${path}: below minimum`);
      if (schema.maximum !== undefined && (value as number) > schema.maximum)
        problems.push(`${path}: above maximum`);
      break;
    case 'string':
      if (typeof value !== 'string') return [`${path}: not a string`];
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
        problems.push(`${path}: does not match ${schema.pattern}`);
      }
      break;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: not a boolean`);
      break;
    default:
      problems.push(`${path}: schema without a type`);
  }
  if (schema.enum !== undefined && !schema.enum.includes(value))
    problems.push(`${path}: not in enum`);
  return problems;
}

/** Every schema path below `schema` (as `check` names them). */
function schemaPaths(schema: Schema, path: string, out: Set<string>): Set<string> {
  out.add(path);
  if (schema['x-kubernetes-preserve-unknown-fields']) return out;
  for (const [key, sub] of Object.entries(schema.properties ?? {}))
    schemaPaths(sub, `${path}.${key}`, out);
  if (schema.additionalProperties) schemaPaths(schema.additionalProperties, `${path}.*`, out);
  if (schema.items) schemaPaths(schema.items, `${path}[]`, out);
  return out;
}

// Every field of spec and status set, so the schema walk covers the whole schema.
const full: AgDRCluster = {
  apiVersion: AGDR_API_VERSION,
  kind: AGDR_KIND,
  metadata: { name: 'decisions', namespace: 'prod' },
  spec: {
    shards: 4,
    routing: {
      strategy: 'domain-partitioned',
      bucket: 'jump',
      keyPointers: ['/domain', '/ctx/domain'],
      windowNs: '3600000000000',
      domainMap: { lending: 1, claims: 2 },
      defaultShard: 0,
    },
    aggregation: { interval: '60s', shardTimeout: '5s' },
    keys: {
      provider: 'vault',
      vault: {
        address: 'https://vault:8200',
        transitMount: 'transit',
        authRole: 'agdr-operator',
        authMount: 'jwt',
        audience: 'vault',
        caConfigMap: 'vault-ca',
      },
      rotation: { interval: '720h', retainVersions: 2 },
    },
    storage: { size: '20Gi', storageClassName: 'standard' },
    image: 'registry.example/agdr:0.1.0',
    resources: { requests: { cpu: '500m' }, limits: { memory: '1Gi' } },
    publishUrl: 'https://witness.example/v1/roots',
    scaling: { epochLeadTime: '5m' },
    ingest: {
      authentication: {
        mode: 'serviceAccountToken',
        audience: 'agdr.dev/prod/decisions',
        allowedServiceAccounts: [{ namespace: 'agents', name: 'desk' }, { namespace: 'batch' }],
      },
    },
    reads: {
      access: 'authenticated',
      allowedServiceAccounts: [{ namespace: 'audit', name: 'court-export' }],
    },
  },
  status: {
    observedGeneration: 3,
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: 3,
        lastTransitionTime: '2026-01-01T00:00:00Z',
        reason: 'AllShardsReady',
        message: '4 of 4 shards ready',
      },
    ],
    readyShards: 4,
    selector: 'app.kubernetes.io/instance=decisions',
    routingEpoch: 1,
    globalRoot: { id: 7, root: 'ab'.repeat(32), timestampNs: '1767225600000000000' },
    shardStatus: [
      {
        id: 0,
        ready: true,
        treeSize: 12,
        lastSealedSize: 10,
        coordinatorStatus: 'ok',
        keyVersion: 2,
        publicKey: 'o+01020304+AQ==',
        phase: 'active',
      },
      {
        id: 4,
        phase: 'retired',
        retiredFromNs: '1767225600000000000',
        finalSize: 42,
        finalRoot: 'cd'.repeat(32),
      },
    ],
    migrations: [
      {
        epoch: 1,
        from: 3,
        to: 4,
        phase: 'Completed',
        startedAt: '2026-01-01T00:00:00Z',
        completedAt: '2026-01-01T00:02:00Z',
        effectiveFromNs: '1767225660000000000',
        tableLoadedAt: '2026-01-01T00:00:05Z',
        reason: 'ScaledUp',
        message: '3 -> 4 shards',
      },
    ],
    missingShards: [
      {
        id: 3,
        since: '2026-01-01T00:00:00Z',
        missedIntervals: 4,
        firstMissedGlobalRootId: 120,
        reason: 'unreachable',
      },
    ],
    keys: {
      provider: 'vault',
      readyForShards: 4,
      coordinatorKeyVersion: 3,
      lastRotation: '2026-01-01T00:00:00Z',
      nextRotation: '2026-01-31T00:00:00Z',
    },
  },
};

describe('AgDRCluster CRD file', () => {
  it('names the group, version, kind and short name of types.ts', () => {
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe(`${AGDR_PLURAL}.${AGDR_GROUP}`);
    expect(crd.spec.group).toBe(AGDR_GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toEqual({
      kind: AGDR_KIND,
      listKind: `${AGDR_KIND}List`,
      plural: AGDR_PLURAL,
      singular: 'agdrcluster',
      shortNames: [AGDR_SHORT_NAME],
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: AGDR_VERSION, served: true, storage: true });
  });

  it('has the status and scale subresources and the printer columns', () => {
    expect(version.subresources).toEqual({
      status: {},
      scale: {
        specReplicasPath: '.spec.shards',
        statusReplicasPath: '.status.readyShards',
        labelSelectorPath: '.status.selector',
      },
    });
    expect(version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath])).toEqual([
      ['Shards', '.spec.shards'],
      ['Ready', '.status.readyShards'],
      ['Epoch', '.status.routingEpoch'],
      ['Global Root', '.status.globalRoot.id'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
  });

  it('declares the defaults, enums and bounds of types.ts', () => {
    expect(at(specSchema, 'shards')).toMatchObject({
      default: AGDR_SPEC_DEFAULTS.shards,
      minimum: MIN_SHARDS,
      maximum: MAX_SHARDS,
    });
    expect(at(specSchema, 'routing.strategy')).toMatchObject({
      default: AGDR_SPEC_DEFAULTS.strategy,
      enum: [...ROUTING_STRATEGIES],
    });
    expect(at(specSchema, 'routing.bucket')).toMatchObject({
      default: AGDR_SPEC_DEFAULTS.bucket,
      enum: [...BUCKET_FUNCTIONS],
    });
    expect(at(specSchema, 'aggregation.interval').default).toBe(
      AGDR_SPEC_DEFAULTS.aggregationInterval,
    );
    expect(at(specSchema, 'keys.provider')).toMatchObject({
      default: AGDR_SPEC_DEFAULTS.keyProvider,
      enum: [...KEY_PROVIDERS],
    });
    expect(at(specSchema, 'keys.vault.transitMount').default).toBe(AGDR_SPEC_DEFAULTS.transitMount);
    expect(at(specSchema, 'keys.rotation.interval').default).toBe(
      AGDR_SPEC_DEFAULTS.rotationInterval,
    );
    expect(at(specSchema, 'storage.size').default).toBe(AGDR_SPEC_DEFAULTS.storageSize);
    expect(at(specSchema, 'scaling.epochLeadTime').default).toBe(AGDR_SPEC_DEFAULTS.epochLeadTime);
    expect(at(statusSchema, 'shardStatus').items?.properties?.['phase']?.enum).toEqual([
      ...SHARD_PHASES,
    ]);
    expect(at(statusSchema, 'migrations').items?.properties?.['phase']?.enum).toEqual([
      ...MIGRATION_PHASES,
    ]);
  });

  it('makes routing.strategy and routing.bucket immutable', () => {
    for (const field of ['strategy', 'bucket']) {
      const rules = at(specSchema, `routing.${field}`)['x-kubernetes-validations'] ?? [];
      expect(rules.map((r) => r.rule)).toContain('self == oldSelf');
    }
  });

  it('describes every field', () => {
    const undocumented = [...schemaPaths(root, '$', new Set())].filter((path) => {
      // The apiserver forbids anything but `type` on metadata.
      if (path === '$.metadata') return false;
      let node: Schema = root;
      for (const part of path.slice(2).split(/\.|(?=\[\])/u)) {
        if (part === '') continue;
        node =
          part === '[]'
            ? node.items!
            : part === '*'
              ? node.additionalProperties!
              : node.properties![part]!;
      }
      return !node.description;
    });
    expect(undocumented).toEqual([]);
  });

  it('accepts a fully populated AgDRCluster and it covers the whole schema', () => {
    const seen = new Set<string>();
    const { apiVersion, kind, spec, status } = full;
    expect(check({ apiVersion, kind, spec, status }, root, '$', seen)).toEqual([]);
    // After a JSON round trip (what goes over the wire) the keys are the same.
    expect(check(JSON.parse(JSON.stringify({ spec, status })), root, '$', new Set())).toEqual([]);
    const uncovered = [...schemaPaths(root, '$', new Set())].filter(
      (p) => !seen.has(p) && p !== '$.metadata',
    );
    expect(uncovered).toEqual([]);
  });

  it('refuses an object with a property the schema lacks or a value outside it', () => {
    const extra = { spec: { ...full.spec, replicas: 3 } };
    expect(check(extra, root, '$', new Set())).toEqual(['$.spec.replicas: not in the schema']);
    const wrong = { spec: { shards: 0, routing: { strategy: 'round-robin' } } };
    expect(check(wrong, root, '$', new Set())).toEqual([
      '$.spec.shards: below minimum',
      '$.spec.routing.strategy: not in enum',
    ]);
  });

  it('accepts the example manifest', () => {
    const example = parse(read('../../../examples/agdrcluster.yaml')) as AgDRCluster;
    expect(example.apiVersion).toBe(AGDR_API_VERSION);
    expect(example.kind).toBe(AGDR_KIND);
    const { metadata: _metadata, ...rest } = example;
    expect(check(rest, root, '$', new Set())).toEqual([]);
  });
});
