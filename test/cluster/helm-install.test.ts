// `helm install` of charts/agdr-operator into the real control plane, in a namespace that
// enforces the restricted Pod Security Standard: the two operator pods run through the pod runner
// as `agdr operator` with in-cluster configuration (their ServiceAccount token, exactly the
// chart's RBAC), reconcile the AgDRCluster from values, and its shards serve; a second cluster
// from values with keys.provider vault gets its keys from the operator, which logs in to the
// tier's real Vault with the projected token the chart mounts; `helm upgrade` rolls the
// operators; `helm uninstall` removes the operator and keeps the CRD, the cluster, its volume
// claims and its keys.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import type { GlobalLogEntry } from '../../src/clients/coordinator-api.ts';
import { validateTrustBundle } from '../../src/clients/trust.ts';
import { DEFAULT_VAULT_JWT_FILE } from '../../src/cli/signer-flags.ts';
import { toBase64 } from '../../src/core/bytes.ts';
import { coordinatorOrigin, shardOrigin, verifyCheckpoint } from '../../src/core/checkpoint.ts';
import { verifyGlobalRootRecord, type GlobalRootRecord } from '../../src/core/global-root/index.ts';
import { VaultClient } from '../../src/keys/vault-client.ts';
import { transitKeyName } from '../../src/keys/vault-plan.ts';
import { readTransitKey } from '../../src/keys/vault-provision.ts';
import { decisionsFor, ndjson, request } from '../integration/shard/shard-process.ts';
import { submitProveVerify } from './harness/agdr-cli.ts';
import { clusterRoutingTable, TIER_TIMING } from './harness/agdr-operator.ts';
import { clusterInfo, clusterKubectl, containerLogPath } from './harness/context.ts';
import { CHART_DIR, Helm } from './harness/helm.ts';
import type { CommandResult } from './harness/kubectl.ts';
import { AGDR_TEST_IMAGE } from './harness/pod-runner/launch.ts';
import {
  createOperatorRole,
  enableKeyEngines,
  JWT_MOUNT,
  rootSession,
  VAULT_AUDIENCE,
} from './harness/vault-identity.ts';
import { projectedVaultTokens, verifierOf } from './harness/vault-keys.ts';

const RELEASE = 'agdr-operator';
/** The chart's full name: the release name, which holds the chart's name. */
const FULLNAME = RELEASE;
const CLUSTER = 'ledger';
const SHARDS = 2;
/** The second cluster from values: one shard, its keys in Vault. */
const VAULT_CLUSTER = 'notary';
/** A transit mount of this test's own. */
const VAULT_MOUNT = 'agdr-helm-keys';

interface Pod {
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string> };
  spec: { serviceAccountName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { containerID?: string; ready?: boolean }[];
  };
}
interface ClusterStatus {
  readyShards?: number;
  routingEpoch?: number;
  migrations?: { epoch: number; from: number; to: number; phase: string }[];
  globalRoot?: { id: number };
  conditions?: { type: string; status: string }[];
}

const [IMAGE_REPOSITORY, IMAGE_TAG] = AGDR_TEST_IMAGE.split(':') as [string, string];

function pidOf(pod: Pod): number {
  const id = pod.status?.containerStatuses?.[0]?.containerID ?? '';
  const m = /^agdr-runner:\/\/(\d+)$/.exec(id);
  if (!m) throw new Error(`pod ${pod.metadata.name} has no running process (${id})`);
  return Number(m[1]);
}

describe('helm install of the agdr-operator chart', () => {
  const k = clusterKubectl();
  const info = clusterInfo();
  const helm = new Helm(info.bins.helm, info.kubeconfig);
  const root = rootSession(info);
  const work = mkdtempSync(join(tmpdir(), 'agdr-helm-install-'));
  const valuesFile = join(work, 'values.yaml');
  let ns = '';
  /** The Vault role of the operator's ServiceAccount (the administrator's part). */
  let operatorRole = '';
  /** The cluster's shard count (the migration test raises it). */
  let shards = SHARDS;
  const t = TIER_TIMING;

  const operatorPods = async (): Promise<Pod[]> =>
    (
      await k.getJson<{ items: Pod[] }>([
        'pods',
        '-n',
        ns,
        '-l',
        `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=operator`,
      ])
    ).items;
  const clusterStatus = async (name = CLUSTER): Promise<ClusterStatus> =>
    (await k.getJson<{ status?: ClusterStatus }>(['agdr', name, '-n', ns])).status ?? {};
  const clusterReady = (s: ClusterStatus): boolean =>
    s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  /**
   * The release's values: this namespace only, the tier's timing, the operator's Vault login,
   * one cluster of `shards` and, until its test is done, the Vault-keyed one.
   */
  const writeValues = (shards: number, vaultCluster: boolean): void =>
    writeFileSync(
      valuesFile,
      stringify({
        image: { repository: IMAGE_REPOSITORY, tag: IMAGE_TAG },
        // Only this namespace: the other files' clusters are not this operator's business.
        watchNamespaces: [ns],
        leaderElection: {
          leaseDuration: `${t.leaseDurationS}s`,
          renewDeadline: `${t.renewDeadlineS}s`,
          retryPeriod: `${t.retryPeriodS}s`,
        },
        resync: `${t.resyncS}s`,
        statusInterval: `${t.statusIntervalS}s`,
        vault: { enabled: true, address: info.vaultAddr, role: operatorRole },
        clusters: [
          {
            name: CLUSTER,
            spec: {
              shards,
              aggregation: { interval: '1s' },
              keys: { provider: 'file' },
              // The pod runner projects ConfigMaps at once: a short epoch lead time will do.
              scaling: { epochLeadTime: '8s' },
              storage: { size: '1Gi' },
            },
          },
          ...(vaultCluster
            ? [
                {
                  name: VAULT_CLUSTER,
                  spec: {
                    shards: 1,
                    aggregation: { interval: '1s' },
                    keys: {
                      provider: 'vault',
                      vault: { transitMount: VAULT_MOUNT },
                      rotation: { interval: '720h' },
                    },
                    storage: { size: '1Gi' },
                  },
                },
              ]
            : []),
        ],
      }),
    );
  /** `helm install|upgrade` of the chart with the test's values, waiting for the rollout. */
  const release = (verb: 'install' | 'upgrade', extra: string[] = []): Promise<CommandResult> =>
    helm.run(
      [
        verb,
        RELEASE,
        CHART_DIR,
        '-n',
        ns,
        '--values',
        valuesFile,
        ...extra,
        '--wait',
        '--timeout',
        '3m',
      ],
      240_000,
    );
  const canI = async (verb: string, resource: string, namespace?: string): Promise<boolean> => {
    const out = await k
      .run([
        'auth',
        'can-i',
        verb,
        resource,
        `--as=system:serviceaccount:${ns}:${FULLNAME}`,
        ...(namespace !== undefined ? ['-n', namespace] : ['--all-namespaces']),
      ])
      .catch((err: Error) => err.message);
    return /^yes\b/m.test(out);
  };

  beforeAll(async () => {
    ns = await k.createNamespace('helm');
    await k.run([
      'label',
      'namespace',
      ns,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/enforce-version=latest',
    ]);
    // The administrator's part (docs/KEYS.md): transit, JWT auth trusting the cluster's
    // ServiceAccount issuer, and the operator's role for the chart's ServiceAccount, its policy
    // limited to this namespace's key prefix.
    await enableKeyEngines(root, info, VAULT_MOUNT);
    operatorRole = await createOperatorRole(root, ns, FULLNAME, VAULT_MOUNT);
    writeValues(SHARDS, true);
  });

  afterAll(async () => {
    await helm.run(['uninstall', RELEASE, '-n', ns, '--ignore-not-found']).catch(() => undefined);
    await k.run(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    helm.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('installs two restricted operators that use their own ServiceAccount, one leading', async () => {
    // The namespace really enforces "restricted": a pod without the security context is refused.
    const refused = await k
      .run(['run', 'loose', '-n', ns, '--image', 'busybox:1.36', '--restart=Never'])
      .then(() => 'accepted')
      .catch((err: Error) => err.message);
    expect(refused).toMatch(/violates PodSecurity "restricted:latest"/);

    const installed = Date.now();
    const { stdout } = await release('install');
    // NOTES.txt: what to run next, for this release and its cluster.
    expect(stdout).toContain(`The AgDR operator is installed in namespace ${ns}`);
    expect(stdout).toContain(`kubectl -n ${ns} get agdr ${CLUSTER}`);
    expect(stdout).toContain(`system:serviceaccount:${ns}:${FULLNAME}, audience vault`);
    console.log(`helm install --wait: ${(Date.now() - installed) / 1000} s`);
    const pods = await operatorPods();
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(pod.spec.serviceAccountName).toBe(FULLNAME);
      // In-cluster configuration: no kubeconfig anywhere, the apiserver from the pod's env.
      const pid = pidOf(pod);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain('operator');
      expect(argv.some((a) => a.includes('kubeconfig'))).toBe(false);
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      expect(environ).not.toMatch(/(^|\0)KUBECONFIG=/);
      expect(environ).toMatch(/(^|\0)KUBERNETES_SERVICE_HOST=/);
      // Vault: the projected token for Vault's audience, passed as --vault-jwt (the pod
      // runner shows the container path under the pod's root).
      expect(argv).toContain(`--vault-addr=${info.vaultAddr}`);
      expect(argv).toContain(`--vault-role=${operatorRole}`);
      const jwtArg = argv.find((a) => a.startsWith('--vault-jwt='));
      expect(jwtArg?.endsWith(DEFAULT_VAULT_JWT_FILE)).toBe(true);
      const [jwt, ...more] = projectedVaultTokens(pod as V1Pod);
      expect(more).toEqual([]);
      expect(readFileSync(jwtArg?.slice('--vault-jwt='.length) ?? '', 'utf8').trim()).toBe(jwt);
      const claims = JSON.parse(
        Buffer.from(jwt?.split('.')[1] ?? '', 'base64url').toString('utf8'),
      ) as { aud: string[]; sub: string; iat: number; exp: number };
      expect(claims.aud).toEqual([VAULT_AUDIENCE]);
      expect(claims.sub).toBe(`system:serviceaccount:${ns}:${FULLNAME}`);
      expect(claims.exp - claims.iat).toBe(3600);
    }
    await k.waitFor(
      'one operator holds the Lease',
      async () => {
        const lease = await k.getJson<{ spec: { holderIdentity?: string } }>([
          'lease',
          FULLNAME,
          '-n',
          ns,
        ]);
        return lease.spec.holderIdentity ? null : 'no holder';
      },
      60_000,
    );
    // Exactly the chart's RBAC: what the operator needs, in its namespace only, and no more.
    expect(await canI('list', 'secrets', ns)).toBe(true);
    expect(await canI('patch', 'statefulsets.apps', ns)).toBe(true);
    expect(await canI('create', 'events.events.k8s.io', ns)).toBe(true);
    expect(await canI('update', `leases.coordination.k8s.io/${FULLNAME}`, ns)).toBe(true);
    expect(await canI('list', 'secrets', 'default')).toBe(false);
    expect(await canI('list', 'secrets')).toBe(false);
    expect(await canI('delete', 'pods', ns)).toBe(false);
    expect(await canI('update', 'secrets', ns)).toBe(false);
    expect(await canI('update', 'leases.coordination.k8s.io/other', ns)).toBe(false);
    expect(await canI('create', 'clusterrolebindings.rbac.authorization.k8s.io')).toBe(false);
  });

  it('reconciles the AgDRClusters from values: every pod admitted, shards serve', async () => {
    for (const [name, n] of [
      [CLUSTER, SHARDS],
      [VAULT_CLUSTER, 1],
    ] as const) {
      await k.waitFor(
        `${name}: ${n}/${n} shards ready with a global root`,
        async () => {
          const s = await clusterStatus(name);
          return clusterReady(s) && s.readyShards === n && s.globalRoot !== undefined
            ? null
            : JSON.stringify(s.conditions ?? []);
        },
        180_000,
      );
    }
    // Every pod of the namespace passed the restricted admission (nothing was refused).
    const pods = (await k.getJson<{ items: Pod[] }>(['pods', '-n', ns])).items;
    expect(pods.map((p) => p.metadata.labels?.['app.kubernetes.io/component']).sort()).toEqual([
      'coordinator',
      'coordinator',
      'operator',
      'operator',
      ...Array<string>(SHARDS + 1).fill('shard'),
    ]);
    const refusals = (
      await k.getJson<{ items: { reason: string; message: string }[] }>(['events', '-n', ns])
    ).items.filter((e) => e.reason === 'FailedCreate');
    expect(refusals).toEqual([]);

    // The operator's writes all went through: its Events are there, no request was refused.
    const events = (
      await k.getJson<{
        items: { reason: string; reportingController: string; regarding: { name: string } }[];
      }>(['events.events.k8s.io', '-n', ns])
    ).items.filter((e) => e.regarding.name === CLUSTER);
    expect(events.map((e) => e.reportingController)).toContain('agdr.dev/operator');
    for (const pod of pods.filter(
      (p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'operator',
    )) {
      expect(readFileSync(containerLogPath(pod as V1Pod, 'operator'), 'utf8')).not.toMatch(
        /forbidden/i,
      );
    }

    const coordinator = pods.find(
      (p) =>
        p.metadata.labels?.['app.kubernetes.io/instance'] === CLUSTER &&
        p.metadata.labels['app.kubernetes.io/component'] === 'coordinator',
    );
    const url = `http://${coordinator?.status?.podIP ?? ''}:7070`;
    const trust = (
      await k.getJson<{ data: Record<string, string> }>(['configmap', `${CLUSTER}-trust`, '-n', ns])
    ).data['trust.json'] as string;
    const receipts = await submitProveVerify(work, url, trust);
    expect(new Set(receipts.map((r) => r.shard_id))).toEqual(new Set([0, 1]));
  });

  it('the Vault-keyed cluster signs with keys the operator created, logged in with its projected token', async () => {
    const s = await clusterStatus(VAULT_CLUSTER);
    expect(s.conditions?.find((c) => c.type === 'KeysReady')?.status).toBe('True');
    const operators = await operatorPods();
    const logs = operators.map((p) =>
      readFileSync(containerLogPath(p as V1Pod, 'operator'), 'utf8'),
    );
    expect(logs.some((l) => l.includes('logged in to Vault'))).toBe(true);

    // The keys are in Vault; the trust bundle publishes exactly their public keys.
    const keyName = (c: { shard: number } | 'coordinator'): string =>
      transitKeyName(ns, VAULT_CLUSTER, c);
    const vaultKey = (c: { shard: number } | 'coordinator') =>
      readTransitKey(root, `${VAULT_MOUNT}/keys/${keyName(c)}`, keyName(c));
    const origin = shardOrigin(ns, VAULT_CLUSTER, 0);
    const shardKey = verifierOf(await vaultKey({ shard: 0 }), origin, 1);
    const coordinatorKey = verifierOf(
      await vaultKey('coordinator'),
      coordinatorOrigin(ns, VAULT_CLUSTER),
      1,
    );
    const trust = validateTrustBundle(
      JSON.parse(
        (
          await k.getJson<{ data: Record<string, string> }>([
            'configmap',
            `${VAULT_CLUSTER}-trust`,
            '-n',
            ns,
          ])
        ).data['trust.json'] as string,
      ),
    );
    expect(trust.keys.map((x) => x.verifier_key).sort()).toEqual([shardKey, coordinatorKey].sort());

    // Decisions appended to the shard: its checkpoint and a global root verify with those keys.
    const podIp = async (selector: string): Promise<string> => {
      const [p] = (await k.getJson<{ items: Pod[] }>(['pods', '-n', ns, '-l', selector])).items;
      return p?.status?.podIP ?? '';
    };
    const instance = `app.kubernetes.io/instance=${VAULT_CLUSTER}`;
    const shardUrl = `http://${await podIp(`${instance},app.kubernetes.io/component=shard`)}:7071`;
    const coordinatorUrl = `http://${await podIp(`${instance},app.kubernetes.io/component=coordinator`)}:7070`;
    const table = await clusterRoutingTable(k, ns, VAULT_CLUSTER);
    const appended = await request(`${shardUrl}/v1/decisions:batch`, {
      body: ndjson(decisionsFor(table, 0, 10, { tag: 'helm-vault' })),
      type: 'application/x-ndjson',
    });
    expect(appended.status).toBe(200);
    await k.waitFor(
      'a checkpoint of 10 signed by the shard key',
      async () => {
        const note = (await request<string>(`${shardUrl}/v1/checkpoint`)).text;
        return verifyCheckpoint(note, [shardKey], origin).size >= 10 ? null : 'smaller';
      },
      30_000,
    );
    const latest = async (): Promise<GlobalRootRecord> =>
      (await request<GlobalLogEntry<GlobalRootRecord>>(`${coordinatorUrl}/v1/global-roots/latest`))
        .body.record;
    await k.waitFor(
      'a global root sealing the shard at 10',
      async () => {
        const r = await latest();
        return r.shard_roots.every((e) => e.status === 'ok' && e.tree_size >= 10)
          ? null
          : JSON.stringify(r.shard_roots);
      },
      30_000,
    );
    verifyGlobalRootRecord(await latest(), [coordinatorKey], { shardKeys: [shardKey] });

    // The operator's own Vault identity, logged in with the token the chart mounted: it reads
    // its clusters' keys, and may neither sign with them nor touch a key outside its prefix.
    const [jwt] = projectedVaultTokens(operators[0] as V1Pod);
    const client = new VaultClient({ address: info.vaultAddr, timeoutMs: 5_000 });
    const login = await client.request('write', `auth/${JWT_MOUNT}/login`, undefined, {
      role: operatorRole,
      jwt,
    });
    const token = (login.auth as { client_token: string }).client_token;
    await expect(
      client.request('read', `${VAULT_MOUNT}/keys/${keyName({ shard: 0 })}`, token),
    ).resolves.toBeDefined();
    await expect(
      client.request('write', `${VAULT_MOUNT}/sign/${keyName({ shard: 0 })}`, token, {
        input: toBase64(new Uint8Array(8)),
      }),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      client.request('write', `${VAULT_MOUNT}/keys/agdr_default_other_shard-0`, token, {
        type: 'ed25519',
      }),
    ).rejects.toMatchObject({ status: 403 });
    await client.request('write', 'auth/token/revoke-self', token, {});

    // Done with it: out of the values (helm keeps it: resource-policy keep), then deleted.
    writeValues(SHARDS, false);
    await k.run(['delete', 'agdr', VAULT_CLUSTER, '-n', ns, '--wait=false']);
  });

  it('helm upgrade rolls the operators to the new values; the cluster stays Ready', async () => {
    const before = new Set((await operatorPods()).map((p) => p.metadata.name));
    await release('upgrade', ['--set', 'logLevel=debug']);
    await k.waitFor(
      'two new operators, ready',
      async () => {
        const pods = await operatorPods();
        const fresh = pods.filter(
          (p) =>
            !before.has(p.metadata.name) &&
            p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True',
        );
        return pods.length === 2 && fresh.length === 2
          ? null
          : `${fresh.length} new of ${pods.length}`;
      },
      120_000,
    );
    for (const pod of await operatorPods()) {
      expect(readFileSync(`/proc/${pidOf(pod)}/cmdline`, 'utf8').split('\0')).toContain(
        '--log-level=debug',
      );
    }
    const id = (await clusterStatus()).globalRoot?.id ?? 0;
    await k.waitFor(
      'the new leader follows the global root',
      async () => {
        const s = await clusterStatus();
        return clusterReady(s) && (s.globalRoot?.id ?? 0) > id ? null : 'not yet';
      },
      60_000,
    );
  });

  it('helm upgrade changing the cluster shard count runs a shard migration', async () => {
    writeValues(SHARDS + 1, false);
    await release('upgrade');
    await k.waitFor(
      `the migration to ${SHARDS + 1} shards completed`,
      async () => {
        const s = await clusterStatus();
        const m = s.migrations?.at(-1);
        return m?.from === SHARDS &&
          m.to === SHARDS + 1 &&
          m.phase === 'Completed' &&
          s.readyShards === SHARDS + 1 &&
          clusterReady(s)
          ? null
          : JSON.stringify({ migration: m, ready: s.readyShards });
      },
      180_000,
    );
    shards = SHARDS + 1;
    const s = await clusterStatus();
    expect(s.routingEpoch).toBe(1);
    expect(s.migrations?.map((m) => [m.epoch, m.from, m.to, m.phase])).toEqual([
      [1, SHARDS, SHARDS + 1, 'Completed'],
    ]);
    // The new shard runs as a pod admitted by the restricted policy and serves its checkpoint.
    const added = await k.getJson<Pod>(['pod', `${CLUSTER}-shard-${SHARDS}`, '-n', ns]);
    const res = await fetch(`http://${added.status?.podIP ?? ''}:7071/v1/checkpoint`, {
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`agdr.dev/${ns}/${CLUSTER}/shard-${SHARDS}`);
  });

  it('helm uninstall removes the operator and keeps the CRD, the cluster, its claims and keys', async () => {
    const pids = (await operatorPods()).map(pidOf);
    await helm.run(['uninstall', RELEASE, '-n', ns, '--wait', '--timeout', '2m'], 180_000);
    await k.waitFor(
      'operator pods gone',
      async () => ((await operatorPods()).length === 0 ? null : 'still there'),
      60_000,
    );
    for (const pid of pids) expect(existsSync(`/proc/${pid}`)).toBe(false);
    const left = async (kind: string, selector: string): Promise<string[]> =>
      (
        await k.getJson<{ items: { metadata: { name: string } }[] }>([
          kind,
          '-n',
          ns,
          '-l',
          selector,
        ])
      ).items.map((o) => o.metadata.name);
    const chartObjects = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/managed-by=Helm`;
    for (const kind of ['deployments', 'serviceaccounts', 'roles', 'rolebindings', 'services']) {
      expect(await left(kind, chartObjects)).toEqual([]);
    }
    const clusterWide = await k.run(['get', 'clusterroles', '-l', chartObjects, '-o', 'name']);
    expect(clusterWide.trim()).toBe('');
    await k.run(['get', 'crd', 'agdrclusters.agdr.dev']);
    // The cluster from values is kept (helm.sh/resource-policy: keep) and keeps serving.
    expect(clusterReady(await clusterStatus())).toBe(true);

    // Deleting it afterwards removes its workloads (garbage collection) and keeps the evidence.
    const clusterObjects = `app.kubernetes.io/instance=${CLUSTER}`;
    const claims = await left('pvc', clusterObjects);
    expect(claims.sort()).toEqual(
      [
        `${CLUSTER}-coordinator-data`,
        ...Array.from({ length: shards }, (_, i) => `data-${CLUSTER}-shard-${i}`),
      ].sort(),
    );
    const keys = await left('secrets', `${clusterObjects},app.kubernetes.io/component=key`);
    expect(keys).toHaveLength(shards + 1);
    await k.run(['delete', 'agdr', CLUSTER, '-n', ns, '--wait=true', '--timeout=60s']);
    await k.waitFor(
      'the cluster workloads garbage-collected',
      async () => {
        const rest = [
          ...(await left('statefulsets', clusterObjects)),
          ...(await left('deployments', clusterObjects)),
        ];
        return rest.length === 0 ? null : rest.join(', ');
      },
      60_000,
    );
    expect((await left('pvc', clusterObjects)).sort()).toEqual(claims.sort());
    expect(await left('secrets', `${clusterObjects},app.kubernetes.io/component=key`)).toEqual(
      keys,
    );
  });
});
