// `agdr operator`: reconciles AgDRCluster resources into shards and a coordinator.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pino from 'pino';
import type { Command } from './command.ts';
import { parseFlags, usageExit, UsageError } from './command.ts';
import { parseDuration } from './client/duration.ts';
import { waitForSignal } from './client/signals.ts';
import { startOperator } from '../operator/operator.ts';
import type { OperatorConfig } from '../operator/operator.ts';

export const DEFAULT_IMAGE = 'agdr:0.1.0';

const help = `agdr operator — reconcile AgDRCluster resources into running shards and a coordinator

Watches AgDRCluster objects (agdr.dev/v1alpha1) and keeps, for each, a shard StatefulSet with
its headless Service and PodDisruptionBudget, the coordinator Deployment with its volume and
Service, the routing table, trust bundle and shard endpoint ConfigMaps, ServiceAccounts and
(keys.provider file) key Secrets, all by server-side apply; writes status (conditions, ready
shards, per-shard tree sizes, the latest global root) and Events. See docs/OPERATOR.md.

Usage: agdr operator [options]

Options:
  --kubeconfig FILE          kubeconfig to use (default: $KUBECONFIG, else the pod's service
                             account: in-cluster configuration)
  --namespace NS             namespace to watch; repeat or comma-separate for several
                             (default: every namespace)
  --no-leader-elect          run without leader election (only when a single operator runs)
  --leader-election-namespace NS
                             namespace of the Lease (default: $POD_NAMESPACE, else the first
                             --namespace, else default)
  --lease-name NAME          name of the Lease (default: agdr-operator)
  --lease-duration DUR       how long a silent leader keeps the Lease (default: 15s)
  --renew-deadline DUR       a leader that cannot renew this long steps down (default: 10s)
  --retry-period DUR         how often candidates try and the leader renews (default: 2s)
  --identity NAME            this process's holder identity (default: hostname-random)
  --host ADDR                address of the metrics/health endpoint (default: 0.0.0.0)
  --port PORT                port of /metrics, /healthz, /readyz (default: 8080; 0 picks one)
  --default-image IMAGE      agdr image for clusters that set none (default: ${DEFAULT_IMAGE})
  --resync DUR               reconcile every cluster at least this often (default: 30s)
  --status-interval DUR      how often a Ready cluster's processes are read for status
                             (default: 10s; 2s at most while it is not Ready)
  --log-level LEVEL          pino level: debug, info, warn, error (default: info)
  -h, --help                 this text

A leader that cannot renew the Lease within --renew-deadline (the apiserver down) stops
reconciling and campaigns again.

Exit status: 0 after SIGTERM/SIGINT (stops reconciling, releases the Lease); 1 when the
operator could not start or failed; 2 on bad usage.
`;

function namespacesOf(values: readonly string[]): string[] {
  const out = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  for (const ns of out) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns))
      throw new UsageError(`--namespace: '${ns}' is not a namespace name`);
  }
  return [...new Set(out)];
}

export const command: Command = {
  name: 'operator',
  summary: 'reconcile AgDRCluster resources (the Kubernetes operator)',
  help,
  async run(argv) {
    let config: OperatorConfig;
    try {
      const { values } = parseFlags(argv, {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', multiple: true, default: [] },
        'no-leader-elect': { type: 'boolean', default: false },
        'leader-election-namespace': { type: 'string' },
        'lease-name': { type: 'string', default: 'agdr-operator' },
        'lease-duration': { type: 'string', default: '15s' },
        'renew-deadline': { type: 'string', default: '10s' },
        'retry-period': { type: 'string', default: '2s' },
        identity: { type: 'string' },
        host: { type: 'string', default: '0.0.0.0' },
        port: { type: 'string', default: '8080' },
        'default-image': { type: 'string', default: DEFAULT_IMAGE },
        resync: { type: 'string', default: '30s' },
        'status-interval': { type: 'string', default: '10s' },
        'log-level': { type: 'string', default: 'info' },
      });
      const namespaces = namespacesOf(values.namespace);
      const port = Number(values.port);
      if (!/^\d+$/.test(values.port) || port > 65535)
        throw new UsageError(`--port: '${values.port}' is not a port number (0 to 65535)`);
      const leaseDurationMs = parseDuration(values['lease-duration'], '--lease-duration');
      const renewDeadlineMs = parseDuration(values['renew-deadline'], '--renew-deadline');
      const retryPeriodMs = parseDuration(values['retry-period'], '--retry-period');
      if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
        throw new UsageError(
          'leader election needs --retry-period < --renew-deadline < --lease-duration',
        );
      }
      const identity = values.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
      config = {
        kubeconfig: values.kubeconfig ?? process.env.KUBECONFIG,
        namespaces,
        leaderElection: values['no-leader-elect']
          ? undefined
          : {
              namespace:
                values['leader-election-namespace'] ??
                process.env.POD_NAMESPACE ??
                namespaces[0] ??
                'default',
              name: values['lease-name'],
              identity,
              leaseDurationMs,
              renewDeadlineMs,
              retryPeriodMs,
            },
        host: values.host,
        port,
        defaultImage: values['default-image'],
        resyncMs: parseDuration(values.resync, '--resync'),
        statusIntervalMs: parseDuration(values['status-interval'], '--status-interval'),
        identity,
        logger: pino(
          { level: values['log-level'], base: { svc: 'operator' } },
          pino.destination(2),
        ),
      };
    } catch (err) {
      return usageExit('operator', err);
    }
    let running;
    try {
      running = await startOperator(config);
    } catch (err) {
      process.stderr.write(`agdr operator: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
    const outcome = await Promise.race([waitForSignal(), running.failed]);
    if (outcome instanceof Error) {
      await running.close();
      process.stderr.write(`agdr operator: stopped: ${outcome.message}\n`);
      return 1;
    }
    config.logger.info({ signal: outcome }, 'shutting down');
    await running.close();
    return 0;
  },
};
