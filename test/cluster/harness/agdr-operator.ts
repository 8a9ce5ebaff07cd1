// `agdr operator` as a real process against the test cluster, with short intervals so the
// tier stays fast: its log in the cluster's log directory, its /readyz waited on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { validateEpochTable, type EpochTable } from '../../../src/core/routing.ts';
import { clusterInfo } from './context.ts';
import type { Kubectl } from './kubectl.ts';
import { freePorts, httpGet } from './net.ts';
import { ManagedProcess } from './process.ts';

const AGDR = fileURLToPath(new URL('../../../src/cli/agdr.ts', import.meta.url));

/** The intervals the tier runs the operator with (seconds-long leases, 1 s status reads). */
export const TIER_TIMING = {
  leaseDurationS: 4,
  renewDeadlineS: 3,
  retryPeriodS: 1,
  resyncS: 3,
  statusIntervalS: 1,
} as const;

export interface OperatorProcess {
  readonly identity: string;
  readonly url: string;
  readonly process: ManagedProcess;
  /** /readyz body: role leader or standby. */
  role(): Promise<string | undefined>;
  stop(): Promise<void>;
  kill(): void;
}

export async function startOperator(
  identity: string,
  namespace: string,
  extraArgs: readonly string[] = [],
): Promise<OperatorProcess> {
  const info = clusterInfo();
  const [port] = (await freePorts(1)) as [number];
  const t = TIER_TIMING;
  const proc = new ManagedProcess({
    name: `operator-${identity}`,
    command: process.execPath,
    args: [
      AGDR,
      'operator',
      '--kubeconfig',
      info.kubeconfig,
      '--namespace',
      namespace,
      '--leader-election-namespace',
      namespace,
      '--identity',
      identity,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--lease-duration',
      `${t.leaseDurationS}s`,
      '--renew-deadline',
      `${t.renewDeadlineS}s`,
      '--retry-period',
      `${t.retryPeriodS}s`,
      '--resync',
      `${t.resyncS}s`,
      '--status-interval',
      `${t.statusIntervalS}s`,
      '--log-level',
      'debug',
      ...extraArgs,
    ],
    logPath: join(info.logDir, `operator-${identity}.log`),
  });
  proc.start();
  const url = `http://127.0.0.1:${port}`;
  await proc.waitUntil(
    'serving /healthz',
    async () => (await httpGet(`${url}/healthz`)).status === 200,
    60_000,
  );
  return {
    identity,
    url,
    process: proc,
    async role() {
      const res = await httpGet(`${url}/readyz`);
      return (JSON.parse(res.body) as { role?: string }).role;
    },
    stop: () => proc.stop(),
    kill: () => proc.killNow(),
  };
}

const CRD_FILE = fileURLToPath(
  new URL('../../../crds/agdr.dev_agdrclusters.yaml', import.meta.url),
);

/**
 * Applies the AgDRCluster CRD and waits until it is Established. Polled rather than `kubectl
 * wait`, which fails outright while a just-created CRD has no status conditions yet.
 */
export async function applyCrd(k: Kubectl): Promise<void> {
  await k.apply(readFileSync(CRD_FILE, 'utf8'));
  await k.waitFor(
    'AgDRCluster CRD established',
    async () =>
      (await k.run([
        'get',
        'crd',
        'agdrclusters.agdr.dev',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Established")].status}',
      ])) === 'True'
        ? null
        : 'not established',
    60_000,
  );
}

/** Reasons of the events.k8s.io Events regarding the AgDRCluster `name`, oldest first. */
export async function clusterEventReasons(
  k: Kubectl,
  namespace: string,
  name: string,
): Promise<string[]> {
  const events = await k.getJson<{ items: { reason: string; regarding: { name: string } }[] }>([
    'events.events.k8s.io',
    '-n',
    namespace,
  ]);
  return events.items.filter((e) => e.regarding.name === name).map((e) => e.reason);
}

/** The routing epoch table the operator wrote for cluster `name` (its `-routing` ConfigMap). */
export async function clusterRoutingTable(
  k: Kubectl,
  namespace: string,
  name: string,
): Promise<EpochTable> {
  const cm = await k.getJson<{ data: Record<string, string> }>([
    'configmap',
    `${name}-routing`,
    '-n',
    namespace,
  ]);
  return validateEpochTable(JSON.parse(cm.data['routing.json'] as string));
}
