// The operator's Prometheus metrics, in a registry of its own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface OperatorMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'result'>;
  readonly errors: Counter<'code'>;
  readonly duration: Histogram;
  readonly queueDepth: Gauge;
  readonly leader: Gauge;
  readonly informerRestarts: Counter<'kind'>;
  readonly keyRotations: Counter;
  readonly keyTrims: Counter;
  readonly vaultErrors: Counter<'code'>;
  readonly keysReadyShards: Gauge<'namespace' | 'cluster'>;
}

export function createOperatorMetrics(): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'agdr_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'agdr_operator_reconcile_total',
      help: 'Reconciles of AgDRClusters, by result (success, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    errors: new Counter({
      name: 'agdr_operator_reconcile_errors_total',
      help: 'Failed reconciles, by error code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'agdr_operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile of one AgDRCluster.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'agdr_operator_queue_depth',
      help: 'AgDRClusters waiting in the work queue.',
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'agdr_operator_leader',
      help: '1 while this operator holds the leader Lease (or runs without leader election).',
      registers: [registry],
    }),
    informerRestarts: new Counter({
      name: 'agdr_operator_informer_restarts_total',
      help: 'Informers restarted after they stopped on an error, by kind.',
      labelNames: ['kind'],
      registers: [registry],
    }),
    keyRotations: new Counter({
      name: 'agdr_operator_key_rotations_total',
      help: 'Vault transit keys rotated (a new version).',
      registers: [registry],
    }),
    keyTrims: new Counter({
      name: 'agdr_operator_key_trims_total',
      help: 'Vault transit keys trimmed (older versions deleted after their public keys were published).',
      registers: [registry],
    }),
    vaultErrors: new Counter({
      name: 'agdr_operator_vault_errors_total',
      help: 'Vault steps of a reconcile that failed, by error code (vault_unreachable, vault_denied, ...).',
      labelNames: ['code'],
      registers: [registry],
    }),
    keysReadyShards: new Gauge({
      name: 'agdr_operator_keys_ready_shards',
      help: 'Shards of a keys.provider vault cluster whose keys are in Vault and published.',
      labelNames: ['namespace', 'cluster'],
      registers: [registry],
    }),
  };
}
