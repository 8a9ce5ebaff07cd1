// The operator process, wired from one typed config: Kubernetes client, metrics and health
// endpoint, optional leader election, and the controller while leading.
import type { Logger } from 'pino';
import { Controller } from './controller.ts';
import { startHealthServer } from './health.ts';
import type { HealthServer } from './health.ts';
import { kubeFromConfig, loadKubeConfig } from './kube.ts';
import { LeaderElector } from './leader.ts';
import type { LeaderElectionConfig } from './leader.ts';
import { createOperatorMetrics } from './metrics.ts';
import { httpProcessReader } from './process-reads.ts';

export interface OperatorConfig {
  /** kubeconfig file; the pod's service account when undefined. */
  readonly kubeconfig: string | undefined;
  /** Namespaces to watch; empty for all. */
  readonly namespaces: readonly string[];
  /** undefined: no leader election (a single operator). */
  readonly leaderElection: LeaderElectionConfig | undefined;
  readonly host: string;
  readonly port: number;
  readonly defaultImage: string;
  readonly resyncMs: number;
  /** How often a Ready cluster's processes are read for status. */
  readonly statusIntervalMs: number;
  readonly identity: string;
  readonly logger: Logger;
}

export interface RunningOperator {
  /** The health/metrics endpoint. */
  readonly url: string;
  /** Resolves when the operator stops on its own: leadership lost. */
  readonly lost: Promise<void>;
  close(): Promise<void>;
}

export async function startOperator(config: OperatorConfig): Promise<RunningOperator> {
  const log = config.logger;
  const kc = loadKubeConfig(config.kubeconfig);
  const kube = kubeFromConfig(kc);
  const metrics = createOperatorMetrics();
  const controller = new Controller(
    kc,
    {
      kube,
      reader: httpProcessReader(),
      options: { defaultImage: config.defaultImage },
      instance: config.identity,
      log,
      now: () => new Date(),
      settledRequeueMs: config.statusIntervalMs,
      pendingRequeueMs: Math.min(config.statusIntervalMs, 2_000),
    },
    { namespaces: config.namespaces, resyncMs: config.resyncMs, informerRetryMs: 1_000 },
    metrics,
  );
  const elector =
    config.leaderElection !== undefined
      ? new LeaderElector(kube, config.leaderElection, log)
      : undefined;
  let controllerStarted = false;
  const health: HealthServer = await startHealthServer(
    config.host,
    config.port,
    {
      ready: () => {
        if (elector !== undefined && !elector.leading) return { ready: true, role: 'standby' };
        return { ready: controller.synced, role: 'leader' };
      },
    },
    metrics.registry,
  );
  log.info({ url: health.url, identity: config.identity }, 'operator endpoint listening');

  let resolveLost: () => void = () => undefined;
  const lost = new Promise<void>((resolve) => (resolveLost = resolve));
  const lead = async (): Promise<void> => {
    if (elector !== undefined && !(await elector.acquire())) return;
    metrics.leader.set(1);
    controllerStarted = true;
    await controller.start();
    log.info(
      { namespaces: config.namespaces.length ? config.namespaces : 'all' },
      'controller started',
    );
    if (elector !== undefined && (await elector.hold()) === 'lost') {
      metrics.leader.set(0);
      resolveLost();
    }
  };
  const leading = lead().catch((err: unknown) => {
    log.error({ err: (err as Error).message }, 'operator failed');
    resolveLost();
  });
  return {
    url: health.url,
    lost,
    async close() {
      elector?.stop();
      await leading;
      if (controllerStarted) await controller.stop();
      await elector?.release();
      metrics.leader.set(0);
      await health.close();
    },
  };
}
