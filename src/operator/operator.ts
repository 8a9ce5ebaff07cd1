// The operator process, wired from one typed config: Kubernetes client, metrics and health
// endpoint, optional leader election, and the controller while leading.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Controller } from './controller.ts';
import { startHealthServer } from './health.ts';
import type { HealthServer } from './health.ts';
import { ClusterKeyProvisioner } from './keys.ts';
import type { OperatorVaultConfig } from './keys.ts';
import { cachedIssuerKeys } from './issuer-keys.ts';
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
  /** Vault login and defaults for keys.provider vault clusters; `caFile` is read at start. */
  readonly vault: Omit<OperatorVaultConfig, 'caPem'> & { readonly caFile: string | undefined };
  readonly logger: Logger;
}

export interface RunningOperator {
  /** The health/metrics endpoint. */
  readonly url: string;
  /** Resolves if the operator fails for good (an unexpected error); it then stops working. */
  readonly failed: Promise<Error>;
  close(): Promise<void>;
}

/** How long the service-account issuer's keys read from the API server are reused. */
const ISSUER_KEYS_TTL_MS = 60_000;

export async function startOperator(config: OperatorConfig): Promise<RunningOperator> {
  const log = config.logger;
  const kc = loadKubeConfig(config.kubeconfig);
  const kube = kubeFromConfig(kc);
  const metrics = createOperatorMetrics();
  const written = new Map();
  const { caFile, ...vaultConfig } = config.vault;
  const vault = new ClusterKeyProvisioner(
    { ...vaultConfig, caPem: caFile !== undefined ? readFileSync(caFile, 'utf8') : undefined },
    log.child({ part: 'vault' }),
    metrics,
  );
  // Shared by every term and cluster: the issuer's keys are the API server's, not a cluster's.
  const issuerKeys = cachedIssuerKeys(kube, ISSUER_KEYS_TTL_MS);
  // A fresh controller per leadership term: nothing cached from a term that ended.
  const newController = (): Controller =>
    new Controller(
      kc,
      {
        kube,
        reader: httpProcessReader(),
        issuerKeys,
        options: { defaultImage: config.defaultImage },
        instance: config.identity,
        log,
        now: () => new Date(),
        written,
        settledRequeueMs: config.statusIntervalMs,
        pendingRequeueMs: Math.min(config.statusIntervalMs, 2_000),
        vault,
        metrics,
      },
      { namespaces: config.namespaces, resyncMs: config.resyncMs, informerRetryMs: 1_000 },
      metrics,
    );
  const elector =
    config.leaderElection !== undefined
      ? new LeaderElector(kube, config.leaderElection, log)
      : undefined;
  let controller: Controller | undefined;
  let stopping = false;
  const health: HealthServer = await startHealthServer(
    config.host,
    config.port,
    {
      ready: () => {
        if (elector !== undefined && !elector.leading) return { ready: true, role: 'standby' };
        return { ready: controller?.synced ?? false, role: 'leader' };
      },
    },
    metrics.registry,
  );
  log.info({ url: health.url, identity: config.identity }, 'operator endpoint listening');

  let resolveFailed: (err: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (resolveFailed = resolve));
  const term = async (): Promise<void> => {
    controller = newController();
    metrics.leader.set(1);
    await controller.start();
    log.info(
      { namespaces: config.namespaces.length ? config.namespaces : 'all' },
      'controller started',
    );
  };
  const endTerm = async (): Promise<void> => {
    metrics.leader.set(0);
    await controller?.stop();
    controller = undefined;
  };
  // Leads while it holds the Lease; a term that ends (the Lease not renewed in time, e.g. while
  // the apiserver restarts) stops the controller before campaigning again, so two operators
  // never reconcile at once.
  const lead = async (): Promise<void> => {
    if (elector === undefined) return term();
    while (!stopping && (await elector.acquire())) {
      await term();
      const end = await elector.hold();
      await endTerm();
      if (end === 'stopped') return;
      log.warn('leadership lost; controller stopped, campaigning again');
    }
  };
  const leading = lead().catch((err: unknown) => {
    log.error({ err: (err as Error).message }, 'operator failed');
    resolveFailed(err instanceof Error ? err : new Error(String(err)));
  });
  return {
    url: health.url,
    failed,
    async close() {
      stopping = true;
      elector?.stop();
      await leading;
      await endTerm();
      await elector?.release();
      await vault.close();
      await health.close();
    },
  };
}
