// The agdr-operator chart as `helm lint --strict` and `helm template` see it: the security
// context of the operator's pods, every RBAC verb, the NetworkPolicies against the labels and
// ports the operator gives its pods, the AgDRClusters from values, and values the schema rejects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

import type {
  V1Container,
  V1NetworkPolicy,
  V1PodSpec,
  V1PolicyRule,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { command as operatorCommand } from '../../src/cli/operator.ts';
import { DEFAULT_VAULT_JWT_FILE } from '../../src/cli/signer-flags.ts';
import {
  APP_NAME,
  COORDINATOR_PORT,
  LABEL_COMPONENT,
  LABEL_NAME,
  SHARD_PORT,
} from '../../src/operator/names.ts';
import { RUN_AS_USER } from '../../src/operator/specs/pod.ts';
import { VAULT_CA_DIR, VAULT_CA_FILE } from '../../src/operator/specs/vault-signer.ts';
import { clusterInfo } from './harness/context.ts';
import { CHART_DIR, Helm } from './harness/helm.ts';
import type { RenderedObject } from './harness/helm.ts';

/**
 * What src/operator does through the API, verb by verb (kube.ts, apply.ts, controller.ts,
 * events.ts, leader.ts, reconcile.ts, status.ts). The chart must grant exactly this.
 */
const OPERATOR_RULES: V1PolicyRule[] = [
  { apiGroups: ['agdr.dev'], resources: ['agdrclusters'], verbs: ['list', 'watch'] },
  { apiGroups: ['agdr.dev'], resources: ['agdrclusters/status'], verbs: ['patch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
  {
    apiGroups: [''],
    resources: ['configmaps'],
    verbs: ['get', 'list', 'watch', 'create', 'patch'],
  },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'create'] },
  { apiGroups: [''], resources: ['services', 'serviceaccounts'], verbs: ['create', 'patch'] },
  {
    apiGroups: ['apps'],
    resources: ['statefulsets', 'deployments'],
    verbs: ['list', 'watch', 'create', 'patch'],
  },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['create', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
  { nonResourceURLs: ['/.well-known/openid-configuration', '/openid/v1/jwks'], verbs: ['get'] },
];

const LEASE_RULES: V1PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: ['demo-agdr-operator'],
    verbs: ['get', 'update'],
  },
];

/** Volume types the restricted Pod Security Standard allows. */
const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

function only(objects: RenderedObject[], kind: string, name?: string): RenderedObject {
  const found = objects.filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  if (found.length !== 1) throw new Error(`${found.length} ${kind} ${name ?? ''} rendered`);
  return found[0] as RenderedObject;
}

function podSpec(objects: RenderedObject[]): V1PodSpec {
  const deployment = only(objects, 'Deployment') as unknown as {
    spec: { template: { spec: V1PodSpec } };
  };
  return deployment.spec.template.spec;
}

function operatorContainer(objects: RenderedObject[]): V1Container {
  const [container, ...rest] = podSpec(objects).containers;
  expect(rest).toEqual([]);
  return container as V1Container;
}

function rules(o: RenderedObject): V1PolicyRule[] {
  return (o as unknown as { rules: V1PolicyRule[] }).rules;
}

describe('the agdr-operator chart', () => {
  const helm = new Helm(clusterInfo().bins.helm);
  const work = mkdtempSync(join(tmpdir(), 'agdr-chart-'));
  afterAll(() => {
    helm.close();
    rmSync(work, { recursive: true, force: true });
  });
  const render = (set: string[] = [], values?: unknown): Promise<RenderedObject[]> => {
    let file: string | undefined;
    if (values !== undefined) {
      file = join(work, `values-${Math.random().toString(16).slice(2)}.yaml`);
      writeFileSync(file, stringify(values));
    }
    return helm.template(CHART_DIR, { set, ...(file !== undefined ? { values: file } : {}) });
  };
  const rejection = async (set: string[]): Promise<string> => {
    try {
      await helm.template(CHART_DIR, { set });
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`values ${set.join(' ')} were accepted`);
  };

  it('passes helm lint --strict, with the defaults and with every option set', async () => {
    await helm.run(['lint', '--strict', CHART_DIR]);
    const file = join(work, 'full.yaml');
    writeFileSync(
      file,
      stringify({
        image: { repository: 'registry.example/agdr', digest: `sha256:${'a'.repeat(64)}` },
        watchNamespaces: ['trading', 'clinical'],
        metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } },
        networkPolicy: {
          namespaces: ['audit'],
          ingestFrom: [{ namespaceSelector: { matchLabels: { team: 'trading' } } }],
          readersFrom: [{ podSelector: { matchLabels: { role: 'auditor' } } }],
          metricsFrom: [{ namespaceSelector: { matchLabels: { name: 'monitoring' } } }],
        },
        clusters: [{ name: 'decisions', spec: { shards: 3 } }],
        vault: {
          enabled: true,
          address: 'https://vault.example:8200',
          ca: { secret: { name: 'vault-tls', key: 'ca.pem' } },
        },
      }),
    );
    const { stdout } = await helm.run(['lint', '--strict', CHART_DIR, '--values', file]);
    expect(stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('runs two operators as the restricted Pod Security Standard requires', async () => {
    const objects = await render();
    const deployment = only(objects, 'Deployment') as unknown as { spec: { replicas: number } };
    expect(deployment.spec.replicas).toBe(2);
    const spec = podSpec(objects);
    expect(spec.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: RUN_AS_USER,
      runAsGroup: RUN_AS_USER,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.hostNetwork ?? false).toBe(false);
    expect(spec.hostPID ?? false).toBe(false);
    expect(spec.volumes?.every((v) => v.hostPath === undefined)).toBe(true);
    expect(spec.automountServiceAccountToken).toBe(true);
    expect(spec.serviceAccountName).toBe('demo-agdr-operator');
    const c = operatorContainer(objects);
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.image).toBe('agdr:0.1.0');
    expect(c.resources?.requests).toEqual({ cpu: '100m', memory: '128Mi' });
    expect(c.resources?.limits).toEqual({ memory: '512Mi' });
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.startupProbe?.httpGet?.path).toBe('/healthz');
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    // Leader election on by default; each process binds its pod IP.
    expect(c.args).toEqual([
      'operator',
      '--host=$(POD_IP)',
      '--port=8080',
      '--leader-election-namespace=agdr-system',
      '--lease-name=demo-agdr-operator',
      '--lease-duration=15s',
      '--renew-deadline=10s',
      '--retry-period=2s',
      '--default-image=agdr:0.1.0',
      '--resync=30s',
      '--status-interval=10s',
      '--log-level=info',
    ]);
    expect(c.args).not.toContain('--no-leader-elect');
    const sa = only(objects, 'ServiceAccount') as unknown as {
      automountServiceAccountToken: boolean;
    };
    expect(sa.automountServiceAccountToken).toBe(false);
    const pdb = only(objects, 'PodDisruptionBudget') as unknown as {
      spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'agdr-operator',
      'app.kubernetes.io/instance': 'demo',
      'app.kubernetes.io/component': 'operator',
    });
    // One replica: no PodDisruptionBudget (it would block every drain).
    expect((await render(['replicaCount=1'])).some((o) => o.kind === 'PodDisruptionBudget')).toBe(
      false,
    );
  });

  it('grants exactly the verbs the operator uses, each one named, bound cluster-wide', async () => {
    const objects = await render();
    expect(rules(only(objects, 'ClusterRole'))).toEqual(OPERATOR_RULES);
    expect(rules(only(objects, 'Role'))).toEqual(LEASE_RULES);
    for (const o of objects.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) {
      for (const r of rules(o)) {
        for (const list of [
          r.apiGroups ?? [],
          r.resources ?? [],
          r.verbs,
          r.resourceNames ?? [],
          r.nonResourceURLs ?? [],
        ]) {
          expect(list?.some((x) => x.includes('*'))).toBe(false);
        }
      }
    }
    const binding = only(objects, 'ClusterRoleBinding') as unknown as {
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    };
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'demo-agdr-operator',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'demo-agdr-operator', namespace: 'agdr-system' },
    ]);
    expect(objects.filter((o) => o.kind === 'RoleBinding').map((o) => o.metadata)).toEqual([
      expect.objectContaining({
        name: 'demo-agdr-operator-leader-election',
        namespace: 'agdr-system',
      }),
    ]);
  });

  it('with watchNamespaces: a RoleBinding in each, no ClusterRoleBinding, --namespace passed', async () => {
    const objects = await render(['watchNamespaces={trading,clinical}']);
    expect(objects.some((o) => o.kind === 'ClusterRoleBinding')).toBe(false);
    const bindings = objects
      .filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'demo-agdr-operator')
      .map((o) => [
        o.metadata.namespace,
        (o as unknown as { roleRef: { kind: string } }).roleRef.kind,
      ]);
    expect(bindings).toEqual([
      ['trading', 'ClusterRole'],
      ['clinical', 'ClusterRole'],
    ]);
    expect(operatorContainer(objects).args).toContain('--namespace=trading,clinical');
  });

  it('NetworkPolicies select the operator-made pods by their labels and ports', async () => {
    const objects = await render([], {
      watchNamespaces: ['trading'],
      networkPolicy: {
        namespaces: ['audit'],
        ingestFrom: [{ namespaceSelector: { matchLabels: { team: 'trading' } } }],
        readersFrom: [{ podSelector: { matchLabels: { role: 'auditor' } } }],
      },
    });
    const policies = objects.filter(
      (o) => o.kind === 'NetworkPolicy',
    ) as unknown as (V1NetworkPolicy & RenderedObject)[];
    const operatorPeer = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'agdr-system' } },
      podSelector: {
        matchLabels: {
          'app.kubernetes.io/name': 'agdr-operator',
          'app.kubernetes.io/instance': 'demo',
          'app.kubernetes.io/component': 'operator',
        },
      },
    };
    const coordinatorPeer = {
      podSelector: { matchLabels: { [LABEL_NAME]: APP_NAME, [LABEL_COMPONENT]: 'coordinator' } },
    };
    const ingest = { namespaceSelector: { matchLabels: { team: 'trading' } } };
    const reader = { podSelector: { matchLabels: { role: 'auditor' } } };
    for (const ns of ['agdr-system', 'audit', 'trading']) {
      const shards = policies.find(
        (p) => p.metadata.name === 'demo-agdr-operator-shards' && p.metadata.namespace === ns,
      );
      expect(shards?.spec?.podSelector).toEqual({
        matchLabels: { [LABEL_NAME]: APP_NAME, [LABEL_COMPONENT]: 'shard' },
      });
      expect(shards?.spec?.policyTypes).toEqual(['Ingress']);
      expect(shards?.spec?.ingress).toEqual([
        {
          ports: [{ port: SHARD_PORT, protocol: 'TCP' }],
          from: [coordinatorPeer, operatorPeer, ingest, reader],
        },
      ]);
      const coordinators = policies.find(
        (p) => p.metadata.name === 'demo-agdr-operator-coordinators' && p.metadata.namespace === ns,
      );
      expect(coordinators?.spec?.podSelector).toEqual({
        matchLabels: { [LABEL_NAME]: APP_NAME, [LABEL_COMPONENT]: 'coordinator' },
      });
      expect(coordinators?.spec?.ingress).toEqual([
        { ports: [{ port: COORDINATOR_PORT, protocol: 'TCP' }], from: [operatorPeer, reader] },
      ]);
    }
    expect(policies).toHaveLength(7);
    // The operator's own pods: the metrics port only.
    const own = policies.find((p) => p.metadata.name === 'demo-agdr-operator');
    expect(own?.spec?.ingress).toEqual([{ ports: [{ port: 8080, protocol: 'TCP' }] }]);
    expect(
      (await render(['networkPolicy.enabled=false'])).some((o) => o.kind === 'NetworkPolicy'),
    ).toBe(false);
  });

  it('renders AgDRClusters from values (kept on uninstall unless told), a ServiceMonitor on request', async () => {
    const spec = { shards: 3, keys: { provider: 'file' }, aggregation: { interval: '1s' } };
    const objects = await render([], { clusters: [{ name: 'decisions', spec }] });
    const cluster = only(objects, 'AgDRCluster', 'decisions');
    expect(cluster.apiVersion).toBe('agdr.dev/v1alpha1');
    expect(cluster.metadata.namespace).toBe('agdr-system');
    expect(cluster['spec']).toEqual(spec);
    expect(cluster.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const dropped = await render(['keepClustersOnUninstall=false'], {
      clusters: [{ name: 'decisions' }],
    });
    expect(only(dropped, 'AgDRCluster').metadata.annotations).toBeUndefined();
    expect(only(dropped, 'AgDRCluster')['spec']).toEqual({});

    expect(objects.some((o) => o.kind === 'ServiceMonitor')).toBe(false);
    const monitored = await render(['metrics.serviceMonitor.enabled=true']);
    const monitor = only(monitored, 'ServiceMonitor') as unknown as {
      spec: { endpoints: { port: string; path: string }[] };
    };
    expect(monitor.spec.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', interval: '30s' },
    ]);
    expect(only(monitored, 'Service').metadata.name).toBe('demo-agdr-operator-metrics');
  });

  it('pins the image by digest, and names another image for the clusters', async () => {
    const digest = `sha256:${'0f'.repeat(32)}`;
    const objects = await render([
      'image.repository=registry.example/agdr',
      `image.digest=${digest}`,
      'clusterImage=registry.example/agdr:0.1.0-shard',
    ]);
    const c = operatorContainer(objects);
    expect(c.image).toBe(`registry.example/agdr@${digest}`);
    expect(c.args).toContain('--default-image=registry.example/agdr:0.1.0-shard');
  });

  it('with vault.enabled: the Vault flags, a projected token for Vault alone, the CA, still restricted', async () => {
    const vault = {
      enabled: true,
      address: 'https://vault.example:8200',
      authMount: 'kubernetes/prod',
      role: 'agdr-operator-prod',
      audience: 'openbao',
      tokenExpirationSeconds: 1800,
      ca: { configMap: { name: 'vault-ca' } },
      keyActivation: '90s',
      timeout: '3s',
    };
    const objects = await render([], { vault });
    const c = operatorContainer(objects);
    const jwtDir = posix.dirname(DEFAULT_VAULT_JWT_FILE);
    expect(c.args?.filter((a) => a.startsWith('--vault-'))).toEqual([
      '--vault-addr=https://vault.example:8200',
      `--vault-ca=${VAULT_CA_DIR}/${VAULT_CA_FILE}`,
      '--vault-auth-mount=kubernetes/prod',
      '--vault-role=agdr-operator-prod',
      `--vault-jwt=${DEFAULT_VAULT_JWT_FILE}`,
      '--vault-timeout=3s',
      '--vault-key-activation=90s',
    ]);
    // The operator's own parser takes these arguments: --vault-jwt is the token's file.
    const config = operatorCommand.configure((c.args ?? []).slice(1));
    expect(config.vault).toMatchObject({
      defaultAddress: 'https://vault.example:8200',
      caFile: `${VAULT_CA_DIR}/${VAULT_CA_FILE}`,
      login: {
        kind: 'jwt',
        mount: 'kubernetes/prod',
        role: 'agdr-operator-prod',
        jwtFile: DEFAULT_VAULT_JWT_FILE,
      },
      timeoutMs: 3000,
      keyActivationMs: 90_000,
    });

    const spec = podSpec(objects);
    expect(spec.volumes?.find((v) => v.name === 'vault-token')).toEqual({
      name: 'vault-token',
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: 'openbao',
              expirationSeconds: 1800,
              path: posix.basename(DEFAULT_VAULT_JWT_FILE),
            },
          },
        ],
      },
    });
    expect(spec.volumes?.find((v) => v.name === 'vault-ca')).toEqual({
      name: 'vault-ca',
      configMap: { name: 'vault-ca', items: [{ key: 'ca.crt', path: VAULT_CA_FILE }] },
    });
    expect(c.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'vault-token', mountPath: jwtDir, readOnly: true },
      { name: 'vault-ca', mountPath: VAULT_CA_DIR, readOnly: true },
    ]);
    // Still what the restricted standard admits, with a read-only root filesystem.
    for (const v of spec.volumes ?? []) {
      const types = Object.keys(v).filter((key) => key !== 'name');
      expect(
        types.every((t) => RESTRICTED_VOLUME_TYPES.has(t)),
        v.name,
      ).toBe(true);
    }
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true });

    // The CA from a Secret (a key of its own); no address and no CA: only the login flags.
    const fromSecret = podSpec(
      await render([
        'vault.enabled=true',
        'vault.ca.secret.name=vault-tls',
        'vault.ca.secret.key=ca.pem',
      ]),
    );
    expect(fromSecret.volumes?.find((v) => v.name === 'vault-ca')).toEqual({
      name: 'vault-ca',
      secret: { secretName: 'vault-tls', items: [{ key: 'ca.pem', path: VAULT_CA_FILE }] },
    });
    const bare = await render(['vault.enabled=true']);
    expect(operatorContainer(bare).args?.filter((a) => a.startsWith('--vault-'))).toEqual([
      '--vault-auth-mount=jwt',
      '--vault-role=agdr-operator',
      `--vault-jwt=${DEFAULT_VAULT_JWT_FILE}`,
      '--vault-timeout=5s',
      '--vault-key-activation=2m',
    ]);
    expect(podSpec(bare).volumes?.map((v) => v.name)).toEqual(['tmp', 'vault-token']);
    // Off (the default): no Vault flag and no token for Vault.
    const off = await render(['vault.address=https://vault.example:8200']);
    expect(operatorContainer(off).args?.some((a) => a.startsWith('--vault-'))).toBe(false);
    expect(podSpec(off).volumes?.map((v) => v.name)).toEqual(['tmp']);
  });

  it('rejects unknown keys and bad values, naming the field', async () => {
    const cases: [string[], RegExp][] = [
      [['replicas=2'], /at '': additional properties 'replicas' not allowed/],
      [['image.name=x'], /at '\/image': additional properties 'name' not allowed/],
      [
        ['networkPolicy.ingestFrom[0].podSelectr.matchLabels.a=b'],
        /at '\/networkPolicy\/ingestFrom\/0': additional properties 'podSelectr' not allowed/,
      ],
      [['clusters[0].spec.shards=3'], /at '\/clusters\/0': missing property 'name'/],
      [['clusters[0].name=Bad_Name'], /at '\/clusters\/0\/name'/],
      [['resync=soon'], /at '\/resync': 'soon' does not match pattern/],
      [['replicaCount=0'], /at '\/replicaCount': minimum: got 0, want 1/],
      [['logLevel=verbose'], /at '\/logLevel'/],
      [['watchNamespaces={Trading}'], /at '\/watchNamespaces\/0'/],
      [['image.digest=latest'], /at '\/image\/digest'/],
      [['metrics.port=80'], /at '\/metrics\/port': minimum: got 80, want 1,024/],
      [['vault.addres=https://v:8200'], /at '\/vault': additional properties 'addres' not allowed/],
      [['vault.address=vault:8200'], /at '\/vault\/address': 'vault:8200' does not match pattern/],
      [
        ['vault.tokenExpirationSeconds=60'],
        /at '\/vault\/tokenExpirationSeconds': minimum: got 60, want 600/,
      ],
      [['vault.authMount=/jwt/'], /at '\/vault\/authMount'/],
      [['vault.role='], /at '\/vault\/role': minLength/],
      [['vault.keyActivation=2 minutes'], /at '\/vault\/keyActivation'/],
      [
        ['vault.ca.configMap.name=vault-ca', 'vault.ca.secret.name=vault-ca'],
        /at '\/vault\/ca': maxProperties: got 2, want 1/,
      ],
      [['vault.ca.secret.key=ca.crt'], /at '\/vault\/ca\/secret': missing property 'name'/],
      [['vault.ca.file=/etc/ca.pem'], /at '\/vault\/ca': additional properties 'file' not allowed/],
    ];
    for (const [set, message] of cases) expect(await rejection(set)).toMatch(message);
  });
});
