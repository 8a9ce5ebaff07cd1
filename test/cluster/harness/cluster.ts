// A real Kubernetes control plane plus Vault on 127.0.0.1, as local processes:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, KWOK (fake Nodes whose Pods
// become Running/Ready without a container runtime) and Vault (file storage, initialized and
// unsealed by the harness, so it can be stopped and started within a test: see vault.ts).
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { stringify } from 'yaml';

import { Kubectl } from './kubectl.ts';
import { kwokStagesConfig } from './pod-runner/kwok-stages.ts';
import { AGDR_TEST_IMAGE } from './pod-runner/launch.ts';
import { freePorts, httpGet } from './net.ts';
import type { TlsOptions } from './net.ts';
import { createPki } from './pki.ts';
import type { ClusterPki } from './pki.ts';
import { HarnessError, ManagedProcess } from './process.ts';
import { VaultServer } from './vault.ts';

export interface BinaryPaths {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
  readonly vault: string;
  readonly helm: string;
}

export interface ClusterOptions {
  readonly bins: BinaryPaths;
  /** Number of fake (KWOK) Nodes. */
  readonly nodes: number;
  /** Per-component health timeout. */
  readonly startTimeoutMs?: number;
}

/** What the tests get: plain data, safe to pass through vitest's provide/inject. */
export interface ClusterInfo {
  readonly workDir: string;
  readonly kubeconfig: string;
  readonly apiserverUrl: string;
  readonly vaultAddr: string;
  readonly vaultToken: string;
  readonly nodeNames: readonly string[];
  readonly bins: BinaryPaths;
  readonly logDir: string;
  /** The pod network (KWOK's --cidr): addresses local processes bind inside the namespace. */
  readonly podCidr: string;
}

/** Environment marker on every child, so a later run can tell our orphans from other processes. */
export const CLUSTER_DIR_ENV = 'AGDR_TEST_CLUSTER_DIR';
const WORK_DIR_PREFIX = 'agdr-cluster-';
const PIDS_FILE = 'pids.json';
/** KWOK hands out pod IPs from here; run-in-netns.sh routes 10.244.0.0/16 to `lo`. */
const POD_CIDR = '10.244.0.1/16';
/** Where the component logs of the last run are kept after teardown. */
export const LAST_LOGS_DIR = join(tmpdir(), 'agdr-cluster-last-logs');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function markedWith(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .includes(`${CLUSTER_DIR_ENV}=${dir}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Kills what an earlier run left behind when its owner died without tearing down (SIGKILL of
 * the test runner): only PIDs it recorded that still carry its directory marker.
 */
export function reapOrphans(): string[] {
  const reaped: string[] = [];
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(WORK_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let record: { owner: number; pids: number[] };
    try {
      record = JSON.parse(readFileSync(join(dir, PIDS_FILE), 'utf8')) as typeof record;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if (alive(record.owner)) continue;
    for (const pid of record.pids) {
      if (alive(pid) && markedWith(pid, dir)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    reaped.push(dir);
  }
  return reaped;
}

export class TestCluster {
  readonly info: ClusterInfo;
  private readonly processes: ManagedProcess[];
  private readonly apiserver: ManagedProcess;
  readonly vault: VaultServer;
  private readonly adminTls: TlsOptions;
  private readonly startTimeoutMs: number;
  private readonly recordPids: () => void;
  private readonly pidSources: (() => number[])[];

  private constructor(
    info: ClusterInfo,
    processes: ManagedProcess[],
    apiserver: ManagedProcess,
    vault: VaultServer,
    adminTls: TlsOptions,
    startTimeoutMs: number,
    recordPids: () => void,
    pidSources: (() => number[])[],
  ) {
    this.info = info;
    this.processes = processes;
    this.apiserver = apiserver;
    this.vault = vault;
    this.adminTls = adminTls;
    this.startTimeoutMs = startTimeoutMs;
    this.recordPids = recordPids;
    this.pidSources = pidSources;
  }

  /**
   * Adds processes started outside the cluster (the pod runner's) to the orphan record; call
   * `pidsChanged()` whenever the set changes.
   */
  addPidSource(source: () => number[]): void {
    this.pidSources.push(source);
    this.recordPids();
  }

  pidsChanged(): void {
    this.recordPids();
  }

  static async start(options: ClusterOptions): Promise<TestCluster> {
    const reaped = reapOrphans();
    if (reaped.length > 0)
      console.warn(`test cluster: removed leftovers of dead runs: ${reaped.join(', ')}`);
    const workDir = mkdtempSync(join(tmpdir(), WORK_DIR_PREFIX));
    const processes: ManagedProcess[] = [];
    const pidSources: (() => number[])[] = [];
    const recordPids = (): void =>
      writeFileSync(
        join(workDir, PIDS_FILE),
        JSON.stringify({
          owner: process.pid,
          pids: [
            ...processes.map((p) => p.pid).filter((p): p is number => p !== undefined),
            ...pidSources.flatMap((source) => source()),
          ],
        }),
      );
    recordPids();
    const cluster = await TestCluster.boot(
      options,
      workDir,
      processes,
      recordPids,
      pidSources,
    ).catch(async (err: unknown) => {
      await Promise.allSettled([...processes].reverse().map((p) => p.stop(2_000)));
      rmSync(workDir, { recursive: true, force: true });
      throw err;
    });
    return cluster;
  }

  private static async boot(
    options: ClusterOptions,
    workDir: string,
    processes: ManagedProcess[],
    recordPids: () => void,
    pidSources: (() => number[])[],
  ): Promise<TestCluster> {
    const timeout = options.startTimeoutMs ?? 90_000;
    const { bins } = options;
    const logDir = join(workDir, 'logs');
    const pkiDir = join(workDir, 'pki');
    mkdirSync(logDir);
    mkdirSync(pkiDir);
    const pki = createPki(pkiDir);
    const ports = await freePorts(7);
    const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, kwokPort, vaultPort] = ports as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const env = { [CLUSTER_DIR_ENV]: workDir };
    const launch = (
      name: string,
      command: string,
      args: string[],
      extraEnv: Record<string, string> = {},
    ): ManagedProcess => {
      const p = new ManagedProcess({
        name,
        command,
        args,
        logPath: join(logDir, `${name}.log`),
        env: { ...env, ...extraEnv },
      });
      p.start();
      processes.push(p);
      recordPids();
      return p;
    };

    const apiserverUrl = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = join(workDir, 'kubeconfig');
    writeFileSync(kubeconfig, adminKubeconfig(apiserverUrl, pki));
    const adminTls: TlsOptions = {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(pki.adminCert),
      key: readFileSync(pki.adminKey),
    };

    // Vault starts first: it is independent and its start overlaps the control plane's.
    const vault = VaultServer.launch({
      bin: bins.vault,
      port: vaultPort,
      workDir,
      launch,
      timeoutMs: timeout,
    });
    const vaultReady = vault.ready();
    // Settled here; awaited (and its failure thrown) before the cluster info is built.
    vaultReady.catch(() => undefined);

    const etcd = launch('etcd', bins.etcd, [
      '--name=default',
      `--data-dir=${join(workDir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      // A throwaway test store: skip fsync so the shared disk is not a bottleneck.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await etcd.waitUntil(
      'healthy',
      async () => (await httpGet(`http://127.0.0.1:${etcdPort}/health`)).status === 200,
      timeout,
    );

    const apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // The loopback advertise address cannot be an Endpoints address; nothing needs it.
      '--endpoint-reconciler-type=none',
      // Watches end every 20-40 s, so long-running clients must re-list and re-watch
      // within a test instead of only after half an hour.
      '--min-request-timeout=20',
      '--profiling=false',
      '--allow-privileged=true',
      `--cert-dir=${pkiDir}`,
    ];
    const apiserver = launch('kube-apiserver', bins.kubeApiserver, apiserverArgs);
    await vaultReady;
    const cluster = new TestCluster(
      {
        workDir,
        kubeconfig,
        apiserverUrl,
        vaultAddr: vault.addr,
        vaultToken: vault.rootToken,
        nodeNames: Array.from({ length: options.nodes }, (_, i) => `kwok-node-${i}`),
        bins,
        logDir,
        podCidr: POD_CIDR,
      },
      processes,
      apiserver,
      vault,
      adminTls,
      timeout,
      recordPids,
      pidSources,
    );
    await cluster.waitApiserverReady();

    const componentKubeconfig = ['--kubeconfig', kubeconfig];
    const kcm = launch('kube-controller-manager', bins.kubeControllerManager, [
      ...componentKubeconfig,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--use-service-account-credentials=false',
      '--controllers=*',
      '--profiling=false',
    ]);
    const scheduler = launch('kube-scheduler', bins.kubeScheduler, [
      ...componentKubeconfig,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      '--leader-elect=false',
      '--profiling=false',
    ]);
    // KWOK runs its default pod stages except for the pod runner's pods (see kwok-stages.ts).
    const kwokConfig = join(workDir, 'kwok.yaml');
    writeFileSync(kwokConfig, kwokStagesConfig(AGDR_TEST_IMAGE));
    const kwok = launch('kwok', bins.kwok, [
      ...componentKubeconfig,
      `--config=${kwokConfig}`,
      `--cidr=${POD_CIDR}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-label-selector=type=kwok',
      `--server-address=127.0.0.1:${kwokPort}`,
      '--node-lease-duration-seconds=40',
    ]);

    const healthz = (port: number) => async (): Promise<boolean> =>
      (await httpGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200;
    await Promise.all([
      kcm.waitUntil('healthy', healthz(kcmPort), timeout),
      scheduler.waitUntil('healthy', healthz(schedPort), timeout),
      kwok.waitUntil(
        'healthy',
        async () => (await httpGet(`http://127.0.0.1:${kwokPort}/healthz`)).status === 200,
        timeout,
      ),
    ]);

    const kubectl = new Kubectl(bins.kubectl, kubeconfig);
    await kubectl.apply(fakeNodesManifest(cluster.info.nodeNames));
    await kubectl
      .waitFor(
        `${options.nodes} KWOK nodes Ready`,
        async () => {
          const list = await kubectl.getJson<NodeList>(['nodes', '-l', 'type=kwok']);
          const notReady = cluster.info.nodeNames.filter((name) => {
            const node = list.items.find((n) => n.metadata.name === name);
            return !node?.status?.conditions?.some(
              (c) => c.type === 'Ready' && c.status === 'True',
            );
          });
          return notReady.length === 0 ? null : `not Ready: ${notReady.join(', ')}`;
        },
        timeout,
      )
      .catch((err: unknown) => {
        throw kwok.error('NODES_NOT_READY', (err as Error).message);
      });
    // Pods need the namespace's default ServiceAccount, which the controller-manager makes.
    await kubectl
      .waitFor(
        'default ServiceAccount',
        async () =>
          (
            await kubectl.run(['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name'])
          ).trim() === 'serviceaccount/default'
            ? null
            : 'missing',
        timeout,
      )
      .catch((err: unknown) => {
        throw kcm.error('NO_SERVICE_ACCOUNT', (err as Error).message);
      });
    return cluster;
  }

  private async waitApiserverReady(): Promise<void> {
    await this.apiserver.waitUntil(
      'ready (/readyz)',
      async () => (await httpGet(`${this.info.apiserverUrl}/readyz`, this.adminTls)).status === 200,
      this.startTimeoutMs,
    );
  }

  /** Stops kube-apiserver and starts it again on the same port and storage. */
  async restartApiserver(): Promise<void> {
    await this.apiserver.stop();
    this.apiserver.start();
    await this.waitApiserverReady();
  }

  async stop(): Promise<void> {
    // Reverse start order: clients of the apiserver first, etcd last.
    for (const p of [...this.processes].reverse()) await p.stop();
    // The component logs outlive the run, for looking into a failure afterwards.
    rmSync(LAST_LOGS_DIR, { recursive: true, force: true });
    cpSync(this.info.logDir, LAST_LOGS_DIR, { recursive: true });
    rmSync(this.info.workDir, { recursive: true, force: true });
  }

  /** For signal handlers: kill everything at once, synchronously. */
  killNow(): void {
    for (const p of this.processes) p.killNow();
    rmSync(this.info.workDir, { recursive: true, force: true });
  }
}

interface NodeList {
  items: {
    metadata: { name: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

function adminKubeconfig(server: string, pki: ClusterPki): string {
  const b64 = (path: string): string => readFileSync(path).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'agdr-test', cluster: { server, 'certificate-authority-data': b64(pki.caCert) } },
    ],
    users: [
      {
        name: 'admin',
        user: {
          'client-certificate-data': b64(pki.adminCert),
          'client-key-data': b64(pki.adminKey),
        },
      },
    ],
    contexts: [{ name: 'agdr-test', context: { cluster: 'agdr-test', user: 'admin' } }],
    'current-context': 'agdr-test',
  });
}

function fakeNodesManifest(names: readonly string[]): string {
  return names
    .map((name) =>
      stringify({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          labels: {
            type: 'kwok',
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
          },
          annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        },
        status: {
          allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
          capacity: { cpu: '32', memory: '256Gi', pods: '110' },
        },
      }),
    )
    .join('---\n');
}

export { HarnessError };
