// The pod runner against the real control plane: pods of the agdr image on KWOK nodes run as
// local `agdr shard` processes on their pod IPs, with the pod's env, files and volumes, probes
// reported in Pod status and EndpointSlices, kubelet's restarts and graceful deletion.
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

import {
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { clusterInfo, clusterKubectl, containerLogPath, podRootDir } from './harness/context.ts';
import type { Kubectl } from './harness/kubectl.ts';
import { sleep } from './harness/process.ts';
import { AGDR_TEST_IMAGE } from './harness/pod-runner/launch.ts';
import { TEST_STORAGE_CLASS } from './harness/pod-runner/provisioner.ts';
import { epochTable, decisionsFor, ndjson } from '../integration/shard/shard-process.ts';

const PORT = 7071;
const WAIT_MS = 60_000;

/**
 * `agdr shard` as a pod runs it: data and routing under their mount paths, listening on the pod
 * IP (`$(POD_IP)` from the downward API), validating on the main thread.
 */
function shardArgs(data: string[], shardId: string): string[] {
  return [
    'shard',
    ...data,
    '--shard-id',
    shardId,
    '--routing',
    '/etc/agdr/routing/routing.json',
    '--host',
    '$(POD_IP)',
    '--port',
    String(PORT),
    '--workers',
    '0',
  ];
}

function yamlDocs(docs: object[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

function ready(pod: V1Pod | undefined): boolean {
  return pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function pidOf(pod: V1Pod): number {
  const id = pod.status?.containerStatuses?.[0]?.containerID ?? '';
  const match = /^agdr-runner:\/\/(\d+)$/.exec(id);
  if (!match) throw new Error(`no runner container id in ${JSON.stringify(pod.status)}`);
  return Number(match[1]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as T };
}

describe('pod runner', () => {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterInfo().kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  let kubectl: Kubectl;
  let ns: string;

  const getPod = (name: string): Promise<V1Pod | undefined> =>
    core.readNamespacedPod({ name, namespace: ns }).catch((err: unknown) => {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    });
  const waitPod = async (
    what: string,
    name: string,
    check: (pod: V1Pod | undefined) => boolean,
  ): Promise<V1Pod | undefined> => {
    let last: V1Pod | undefined;
    await kubectl.waitFor(
      `${name}: ${what}`,
      async () => {
        last = await getPod(name);
        return check(last) ? null : JSON.stringify(last?.status ?? 'no pod');
      },
      WAIT_MS,
    );
    return last;
  };

  const watchPod = (
    name: string,
    onEvent: (phase: string, pod: V1Pod) => void,
  ): Promise<AbortController> =>
    new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { fieldSelector: `metadata.name=${name}` },
      onEvent,
      () => undefined,
    );

  beforeAll(async () => {
    kubectl = clusterKubectl();
    ns = await kubectl.createNamespace('runner');
  });

  it(
    'runs a Pod with its env, files and token on its pod IP and stops it with SIGTERM on deletion',
    { timeout: 180_000 },
    async () => {
      await kubectl.apply(
        yamlDocs([
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'routing', namespace: ns },
            data: { 'routing.json': JSON.stringify(epochTable(1)), mode: 'test' },
          },
          {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'creds', namespace: ns },
            stringData: { token: 's3cret' },
          },
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'solo', namespace: ns, labels: { app: 'solo' } },
            spec: {
              nodeSelector: { type: 'kwok' },
              terminationGracePeriodSeconds: 15,
              containers: [
                {
                  name: 'shard',
                  image: AGDR_TEST_IMAGE,
                  args: shardArgs(['--data=/var/lib/agdr'], '0'),
                  env: [
                    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                    {
                      name: 'APP',
                      valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } },
                    },
                    { name: 'LISTEN', value: '$(POD_IP):7071' },
                    { name: 'LITERAL', value: '$$(POD_IP) $(UNDEFINED)' },
                    { name: 'DATA', value: '/var/lib/agdr/log' },
                    {
                      name: 'MODE',
                      valueFrom: { configMapKeyRef: { name: 'routing', key: 'mode' } },
                    },
                    {
                      name: 'SECRET',
                      valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } },
                    },
                  ],
                  readinessProbe: {
                    httpGet: { path: '/readyz', port: PORT },
                    periodSeconds: 1,
                  },
                  volumeMounts: [
                    { name: 'data', mountPath: '/var/lib/agdr' },
                    { name: 'routing', mountPath: '/etc/agdr/routing' },
                    { name: 'vault-token', mountPath: '/var/run/secrets/vault' },
                  ],
                },
              ],
              volumes: [
                { name: 'data', emptyDir: {} },
                { name: 'routing', configMap: { name: 'routing' } },
                {
                  name: 'vault-token',
                  projected: {
                    sources: [
                      {
                        serviceAccountToken: {
                          audience: 'vault',
                          expirationSeconds: 600,
                          path: 'token',
                        },
                      },
                      { secret: { name: 'creds', items: [{ key: 'token', path: 'creds/token' }] } },
                    ],
                  },
                },
              ],
            },
          },
        ]),
      );
      const pod = (await waitPod('Ready', 'solo', ready)) as V1Pod;
      const ip = pod.status?.podIP ?? '';
      expect(ip).toMatch(/^10\.244\.\d+\.\d+$/);
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({
        ready: true,
        started: true,
        restartCount: 0,
      });

      // The process serves on the pod IP, as the container would.
      expect((await getJson(`http://${ip}:${PORT}/healthz`)).status).toBe(200);
      const pid = pidOf(pod);
      const root = podRootDir(pod);
      const env = new Map(
        readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      expect(
        Object.fromEntries(
          [
            'POD_IP',
            'POD_NAME',
            'APP',
            'LISTEN',
            'LITERAL',
            'MODE',
            'SECRET',
            'DATA',
            'HOSTNAME',
            'KUBERNETES_SERVICE_HOST',
          ].map((k) => [k, env.get(k)]),
        ),
      ).toEqual({
        POD_IP: ip,
        POD_NAME: 'solo',
        APP: 'solo',
        LISTEN: `${ip}:7071`,
        LITERAL: '$(POD_IP) $(UNDEFINED)',
        MODE: 'test',
        SECRET: 's3cret',
        DATA: `${root}/var/lib/agdr/log`,
        HOSTNAME: 'solo',
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
      });
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain(`--data=${root}/var/lib/agdr`);
      expect(argv).toContain(`${root}/etc/agdr/routing/routing.json`);
      expect(argv.slice(argv.indexOf('--host'), argv.indexOf('--host') + 2)).toEqual([
        '--host',
        ip,
      ]);
      // The shard created its data in the emptyDir.
      expect(existsSync(join(root, 'var/lib/agdr/key.json'))).toBe(true);

      // Projected token: a TokenRequest for the pod's ServiceAccount, audience and pod bound.
      const token = readFileSync(join(root, 'var/run/secrets/vault/token'), 'utf8');
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
        aud: string[];
        sub: string;
        'kubernetes.io': { pod: { name: string; uid: string } };
      };
      expect(claims.aud).toEqual(['vault']);
      expect(claims.sub).toBe(`system:serviceaccount:${ns}:default`);
      expect(claims['kubernetes.io'].pod).toEqual({ name: 'solo', uid: pod.metadata?.uid });
      expect(readFileSync(join(root, 'var/run/secrets/vault/creds/token'), 'utf8')).toBe('s3cret');
      // The ServiceAccount admission plugin's kube-api-access volume is supplied as well.
      expect(
        readFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount/namespace'), 'utf8'),
      ).toBe(ns);
      // ... and at its own absolute path, where in-cluster clients read it (the process's
      // private /var/run; the host has none of it).
      const own = `/proc/${pid}/root/${realpathSync('/var/run')}/secrets/kubernetes.io/serviceaccount`;
      expect(readFileSync(`${own}/namespace`, 'utf8')).toBe(ns);
      expect(readFileSync(`${own}/ca.crt`, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(readFileSync(`${own}/token`, 'utf8').split('.')).toHaveLength(3);
      expect(existsSync('/var/run/secrets/kubernetes.io/serviceaccount')).toBe(false);
      expect(readlinkSync(join(podRootDir(pod), '../volumes/vault-token/..data'))).toMatch(
        /^\.\.\d/,
      );

      // Graceful deletion: the pod stays Terminating until the process has exited.
      const seen: { phase: string; terminating: boolean; processAlive: boolean }[] = [];
      const watch = await watchPod('solo', (phase, p) =>
        seen.push({
          phase,
          terminating: Boolean(p.metadata?.deletionTimestamp),
          processAlive: alive(pid),
        }),
      );
      try {
        await core.deleteNamespacedPod({ name: 'solo', namespace: ns });
        await waitPod('deleted', 'solo', (p) => p === undefined);
      } finally {
        watch.abort();
      }
      // Terminating first (MODIFIED with a deletionTimestamp), gone only after the process.
      expect(seen.some((e) => e.phase === 'MODIFIED' && e.terminating)).toBe(true);
      expect(seen.at(-1)).toEqual({ phase: 'DELETED', terminating: true, processAlive: false });
      const stopped = runnerLog().find(
        (e) => e.message === 'stopped containers' && e.pod === `${ns}/solo`,
      );
      // agdr shard exits 0 after SIGTERM (it finishes the commit in flight and signs a checkpoint).
      expect(stopped?.containers).toEqual([
        expect.objectContaining({
          terminated: expect.objectContaining({ exitCode: 0, reason: 'Completed' }),
        }),
      ]);
    },
  );

  it(
    'runs a StatefulSet of shards: EndpointSlices, ConfigMap updates, restarts, data across re-creation',
    { timeout: 240_000 },
    async () => {
      const table = epochTable(2);
      await kubectl.apply(
        yamlDocs([
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'shard-routing', namespace: ns },
            data: { 'routing.json': JSON.stringify(table) },
          },
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: 'shards', namespace: ns },
            spec: {
              clusterIP: 'None',
              selector: { app: 'shards' },
              ports: [{ name: 'http', port: PORT }],
            },
          },
          {
            apiVersion: 'apps/v1',
            kind: 'StatefulSet',
            metadata: { name: 'shards', namespace: ns },
            spec: {
              replicas: 2,
              serviceName: 'shards',
              podManagementPolicy: 'Parallel',
              selector: { matchLabels: { app: 'shards' } },
              persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
              template: {
                metadata: { labels: { app: 'shards' } },
                spec: {
                  nodeSelector: { type: 'kwok' },
                  terminationGracePeriodSeconds: 20,
                  containers: [
                    {
                      name: 'shard',
                      image: AGDR_TEST_IMAGE,
                      args: shardArgs(['--data', '/var/lib/agdr'], '$(SHARD_ID)'),
                      env: [
                        {
                          name: 'POD_IP',
                          valueFrom: { fieldRef: { fieldPath: 'status.podIP' } },
                        },
                        {
                          name: 'SHARD_ID',
                          valueFrom: {
                            fieldRef: {
                              fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']",
                            },
                          },
                        },
                      ],
                      ports: [{ name: 'http', containerPort: PORT }],
                      readinessProbe: {
                        httpGet: { path: '/readyz', port: 'http' },
                        periodSeconds: 1,
                      },
                      livenessProbe: {
                        httpGet: { path: '/healthz', port: 'http' },
                        periodSeconds: 5,
                      },
                      volumeMounts: [
                        { name: 'data', mountPath: '/var/lib/agdr' },
                        { name: 'routing', mountPath: '/etc/agdr/routing' },
                      ],
                    },
                  ],
                  volumes: [{ name: 'routing', configMap: { name: 'shard-routing' } }],
                },
              },
              volumeClaimTemplates: [
                {
                  metadata: { name: 'data' },
                  // No storageClassName: the tier's default class, provisioned by the runner.
                  spec: {
                    accessModes: ['ReadWriteOnce'],
                    resources: { requests: { storage: '1Gi' } },
                  },
                },
              ],
            },
          },
        ]),
      );
      const pods = [
        (await waitPod('Ready', 'shards-0', ready)) as V1Pod,
        (await waitPod('Ready', 'shards-1', ready)) as V1Pod,
      ];
      const ips = pods.map((p) => p.status?.podIP ?? '');
      // Each process is its shard (the pod-index label through the downward API).
      for (const [i, ip] of ips.entries()) {
        expect(ip).toMatch(/^10\.244\./);
        const cp = await fetch(`http://${ip}:${PORT}/v1/checkpoint`);
        expect(await cp.text()).toContain(`/shard-${i}\n`);
      }

      // Ready pods appear in the headless Service's EndpointSlices.
      await kubectl.waitFor(
        'both shards ready in EndpointSlices',
        async () => {
          const slices = await discovery.listNamespacedEndpointSlice({
            namespace: ns,
            labelSelector: 'kubernetes.io/service-name=shards',
          });
          const readyIps = slices.items
            .flatMap((s) => s.endpoints ?? [])
            .filter((e) => e.conditions?.ready)
            .flatMap((e) => e.addresses);
          return [...readyIps].sort().join(',') === [...ips].sort().join(',')
            ? null
            : `ready: ${readyIps.join(',')}`;
        },
        WAIT_MS,
      );

      // A ConfigMap update reaches the mounted file, and the shard reloads it.
      const first = table.epochs[0] as (typeof table.epochs)[number];
      const next = {
        epochs: [...table.epochs, { ...first, epoch: 1, effective_from_ns: '1000000000000000000' }],
      };
      await core.patchNamespacedConfigMap(
        {
          name: 'shard-routing',
          namespace: ns,
          body: { data: { 'routing.json': JSON.stringify(next) } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await kubectl.waitFor(
        'both shards on the new routing table',
        async () => {
          const epochs = await Promise.all(
            ips.map(
              async (ip) =>
                (await getJson<{ epochs: unknown[] }>(`http://${ip}:${PORT}/v1/routing`)).body
                  .epochs.length,
            ),
          );
          return epochs.every((n) => n === 2) ? null : `epochs: ${epochs.join(',')}`;
        },
        WAIT_MS,
      );
      expect(
        JSON.parse(
          readFileSync(join(podRootDir(pods[0] as V1Pod), 'etc/agdr/routing/routing.json'), 'utf8'),
        ),
      ).toEqual(next);

      // Records on shard 0, to find again after its pod is re-created.
      const batch = decisionsFor(next, 0, 5, { tag: 'runner' });
      const post = await fetch(`http://${ips[0]}:${PORT}/v1/decisions:batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: ndjson(batch),
      });
      expect(post.status).toBe(200);

      // A crash: kubelet's restart, restartCount 1, not ready until the probe passes again.
      const readiness: string[] = [];
      const watch = await watchPod('shards-1', (_phase, pod) => {
        const c = pod.status?.conditions?.find((x) => x.type === 'Ready');
        if (c) readiness.push(c.status);
      });
      try {
        const before = pidOf(pods[1] as V1Pod);
        process.kill(before, 'SIGKILL');
        const restarted = (await waitPod(
          'restarted and Ready',
          'shards-1',
          (p) => ready(p) && p?.status?.containerStatuses?.[0]?.restartCount === 1,
        )) as V1Pod;
        expect(restarted.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({
          exitCode: 137,
          reason: 'Error',
        });
        expect(pidOf(restarted)).not.toBe(before);
        // One log file per run, as kubelet keeps them.
        expect(existsSync(containerLogPath(restarted, 'shard', 0))).toBe(true);
        expect(readFileSync(containerLogPath(restarted, 'shard', 1), 'utf8')).toContain('"msg"');
        expect(readiness.lastIndexOf('False')).toBeGreaterThanOrEqual(0);
        expect(readiness.at(-1)).toBe('True');
      } finally {
        watch.abort();
      }

      // Deleting shards-0: SIGTERM, the PVC's directory stays, the re-created pod finds its data.
      const oldPod = pods[0] as V1Pod;
      const oldPid = pidOf(oldPod);
      await core.deleteNamespacedPod({ name: 'shards-0', namespace: ns });
      const recreated = (await waitPod(
        're-created and Ready',
        'shards-0',
        (p) => ready(p) && p?.metadata?.uid !== oldPod.metadata?.uid,
      )) as V1Pod;
      expect(alive(oldPid)).toBe(false);
      const stopped = runnerLog().find(
        (e) => e.message === 'stopped containers' && e.pod === `${ns}/shards-0`,
      );
      expect(stopped?.containers).toEqual([
        expect.objectContaining({ terminated: expect.objectContaining({ exitCode: 0 }) }),
      ]);
      const claim = await core.readNamespacedPersistentVolumeClaim({
        name: 'data-shards-0',
        namespace: ns,
      });
      expect(claim.spec?.storageClassName).toBe(TEST_STORAGE_CLASS);
      expect(claim.spec?.volumeName).toBe(`pvc-${claim.metadata?.uid}`);
      const pvDir = join(clusterInfo().workDir, 'persistent-volumes', claim.spec?.volumeName ?? '');
      expect(readlinkSync(join(podRootDir(recreated), 'var/lib/agdr'))).toBe(pvDir);
      const ip0 = recreated.status?.podIP ?? '';
      const found = await getJson<{ record_id?: string }>(
        `http://${ip0}:${PORT}/v1/records?record_id=${String(batch[4]?.['record_id'])}`,
      );
      expect(found.status).toBe(200);

      // Settled: probes keep passing and the runner writes nothing (no status write loop).
      const settled = await getPod('shards-0');
      await sleep(3_000);
      expect((await getPod('shards-0'))?.metadata?.resourceVersion).toBe(
        settled?.metadata?.resourceVersion,
      );
    },
  );

  it(
    "follows kubelet's restart rules: back-off, restartPolicy Never, liveness failures",
    { timeout: 120_000 },
    async () => {
      const pod = (name: string, spec: object, args: string[]): object => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns },
        spec: {
          nodeSelector: { type: 'kwok' },
          terminationGracePeriodSeconds: 5,
          ...spec,
          containers: [{ name: 'agdr', image: AGDR_TEST_IMAGE, args }],
        },
      });
      await kubectl.apply(
        yamlDocs([
          // `agdr --help` exits 0 at once: restarted (the first time at once), then back-off.
          pod('exits-always', { restartPolicy: 'Always' }, ['--help']),
          // An unknown command exits non-zero; with Never the pod ends Failed.
          pod('exits-never', { restartPolicy: 'Never' }, ['no-such-command']),
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'not-alive', namespace: ns },
            spec: {
              nodeSelector: { type: 'kwok' },
              terminationGracePeriodSeconds: 5,
              containers: [
                {
                  name: 'agdr',
                  image: AGDR_TEST_IMAGE,
                  args: shardArgs(['--data', '/var/lib/agdr'], '0'),
                  env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                  // Nothing listens on port 9: the probe fails and the process is restarted.
                  livenessProbe: { tcpSocket: { port: 9 }, periodSeconds: 1, failureThreshold: 2 },
                  volumeMounts: [
                    { name: 'data', mountPath: '/var/lib/agdr' },
                    { name: 'routing', mountPath: '/etc/agdr/routing' },
                  ],
                },
              ],
              volumes: [
                { name: 'data', emptyDir: {} },
                { name: 'routing', configMap: { name: 'restart-routing' } },
              ],
            },
          },
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'restart-routing', namespace: ns },
            data: { 'routing.json': JSON.stringify(epochTable(1)) },
          },
        ]),
      );
      const backedOff = await waitPod(
        'in CrashLoopBackOff after one restart',
        'exits-always',
        (p) => p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
      );
      const always = backedOff?.status?.containerStatuses?.[0];
      // One restart at once; a second only if the first run outlasted the 10 s back-off (a slow start).
      expect(always?.restartCount).toBeGreaterThanOrEqual(1);
      expect(always?.lastState?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      expect(always?.state?.waiting?.message).toMatch(
        /^back-off \d+s restarting failed container=agdr$/,
      );
      expect(backedOff?.status?.phase).toBe('Running');

      const never = await waitPod('Failed', 'exits-never', (p) => p?.status?.phase === 'Failed');
      expect(never?.status?.containerStatuses?.[0]).toMatchObject({
        restartCount: 0,
        ready: false,
        state: { terminated: expect.objectContaining({ exitCode: 2, reason: 'Error' }) },
      });
      expect(never?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
        status: 'False',
        reason: 'PodCompleted',
      });

      await waitPod(
        'restarted by its liveness probe',
        'not-alive',
        (p) => (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      );
      await kubectl.waitFor(
        'a Killing Event for the liveness failure',
        async () => {
          const events = await core.listNamespacedEvent({
            namespace: ns,
            fieldSelector: 'involvedObject.name=not-alive,reason=Killing',
          });
          return events.items.some((e) =>
            e.message?.includes('failed liveness probe, will be restarted'),
          )
            ? null
            : 'none yet';
        },
        WAIT_MS,
      );
      await core.deleteCollectionNamespacedPod({
        namespace: ns,
        fieldSelector: 'metadata.name!=shards-0,metadata.name!=shards-1',
      });
    },
  );

  it('keeps a pod waiting, with the reason, until its ConfigMap exists', async () => {
    await kubectl.apply(
      yamlDocs([
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'waits', namespace: ns },
          spec: {
            nodeSelector: { type: 'kwok' },
            terminationGracePeriodSeconds: 5,
            containers: [
              {
                name: 'agdr',
                image: AGDR_TEST_IMAGE,
                args: shardArgs(['--data', '/var/lib/agdr'], '0'),
                env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/agdr' },
                  { name: 'routing', mountPath: '/etc/agdr/routing' },
                ],
              },
            ],
            volumes: [
              { name: 'data', emptyDir: {} },
              { name: 'routing', configMap: { name: 'late-routing' } },
            ],
          },
        },
      ]),
    );
    const waiting = await waitPod(
      'waiting for its ConfigMap',
      'waits',
      (p) => p?.status?.message !== undefined,
    );
    expect(waiting?.status?.phase).toBe('Pending');
    expect(waiting?.status?.containerStatuses?.[0]?.state?.waiting).toEqual({
      reason: 'ContainerCreating',
      message: 'spec.volumes[1].configMap: configmap "late-routing" not found',
    });
    await kubectl.apply(
      yamlDocs([
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'late-routing', namespace: ns },
          data: { 'routing.json': JSON.stringify(epochTable(1)) },
        },
      ]),
    );
    const running = await waitPod('running', 'waits', (p) => p?.status?.phase === 'Running');
    expect(running?.status?.message).toBeUndefined();
    await core.deleteNamespacedPod({ name: 'waits', namespace: ns });
  });
});

interface RunnerLogEntry {
  message: string;
  pod?: string;
  containers?: unknown[];
}

function runnerLog(): RunnerLogEntry[] {
  return readFileSync(join(clusterInfo().logDir, 'pod-runner.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunnerLogEntry);
}
