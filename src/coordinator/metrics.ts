// Prometheus metrics of one coordinator. A registry per instance (not prom-client's global
// one) so several coordinators can live in one process, as in tests and benchmarks.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface CoordinatorMetrics {
  registry: Registry;
  intervalDuration: Histogram;
  shards: Gauge<'status'>;
  globalLogSize: Gauge;
  lagSeconds: Gauge;
  openMissedIntervals: Gauge;
  rounds: Counter<'result'>;
  reconstructions: Counter;
  publishFailures: Counter;
  trustReloads: Counter<'result'>;
  scrubbedEntries: Counter;
}

/** `lagSeconds` answers the seconds since the latest global root was sealed (undefined: none yet). */
export function createCoordinatorMetrics(lagSeconds: () => number | undefined): CoordinatorMetrics {
  const registry = new Registry();
  const m: CoordinatorMetrics = {
    registry,
    intervalDuration: new Histogram({
      name: 'agdr_coordinator_interval_duration_seconds',
      help: 'Time to fetch, verify, build, sign and durably append one global root.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    shards: new Gauge({
      name: 'agdr_coordinator_shards',
      help: 'Shards by status in the latest global root (ok, missing, unverified).',
      labelNames: ['status'],
      registers: [registry],
    }),
    globalLogSize: new Gauge({
      name: 'agdr_coordinator_global_log_size',
      help: 'Entries in the global log (global root and reconstruction records).',
      registers: [registry],
    }),
    lagSeconds: new Gauge({
      name: 'agdr_coordinator_lag_seconds',
      help: 'Seconds since the latest global root was sealed (-1 before the first).',
      registers: [registry],
      collect() {
        this.set(lagSeconds() ?? -1);
      },
    }),
    openMissedIntervals: new Gauge({
      name: 'agdr_coordinator_open_missed_intervals',
      help: 'Intervals in which some shard was missing or unverified and not yet reconstructed.',
      registers: [registry],
    }),
    rounds: new Counter({
      name: 'agdr_coordinator_rounds_total',
      help: 'Aggregation rounds by result (sealed, failed).',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconstructions: new Counter({
      name: 'agdr_coordinator_reconstructions_total',
      help: 'Reconstruction records appended.',
      registers: [registry],
    }),
    publishFailures: new Counter({
      name: 'agdr_coordinator_publish_failures_total',
      help: 'Failed attempts to publish a global checkpoint (retried).',
      registers: [registry],
    }),
    trustReloads: new Counter({
      name: 'agdr_coordinator_trust_reloads_total',
      help: 'Trust bundle reloads by result (ok, error).',
      labelNames: ['result'],
      registers: [registry],
    }),
    scrubbedEntries: new Counter({
      name: 'agdr_coordinator_scrub_entries_total',
      help: 'Global log entries the background scrub re-checked against their leaf hashes.',
      registers: [registry],
    }),
  };
  // Every label value exists from the start (at 0), so a rate() or an alert on "failed" sees a
  // series before the first failure.
  for (const result of ['sealed', 'failed']) m.rounds.inc({ result }, 0);
  for (const result of ['ok', 'error']) m.trustReloads.inc({ result }, 0);
  for (const status of ['ok', 'missing', 'unverified']) m.shards.set({ status }, 0);
  return m;
}
