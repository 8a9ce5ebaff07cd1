// Prometheus metrics of one shard, in its own registry (several shards can share a process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchStats } from '../log-store/index.ts';

export type RejectReason =
  | 'invalid_decision'
  | 'misrouted'
  | 'retired'
  | 'body_too_large'
  | 'too_many_lines'
  | 'bad_request'
  | 'unsupported_media_type'
  | 'body_timeout'
  | 'overloaded'
  | 'record_id_conflict'
  | 'unavailable';

export class ShardMetrics {
  readonly registry = new Registry();
  readonly appends: Counter;
  readonly duplicates: Counter;
  readonly batchEntries: Histogram;
  readonly fsyncSeconds: Histogram;
  readonly persistSeconds: Histogram;
  readonly treeSize: Gauge;
  readonly checkpointAge: Gauge;
  readonly checkpoints: Counter;
  readonly checkpointFailures: Counter;
  readonly checkpointFailing: Gauge;
  readonly rejected: Counter<'reason'>;
  readonly authFailures: Counter<'reason' | 'action'>;
  readonly scrubbedRecords: Counter;
  readonly scrubPasses: Counter;
  readonly storageFailure: Gauge;
  #lastCheckpointMs: number | undefined;

  /** `failure`: why the log or record_id index can no longer make progress, if so. */
  constructor(
    shardId: number,
    treeSize: () => number,
    withProcessMetrics: boolean,
    failure: () => Error | undefined = () => undefined,
  ) {
    const r = this.registry;
    r.setDefaultLabels({ shard: String(shardId) });
    if (withProcessMetrics) collectDefaultMetrics({ register: r });
    this.appends = new Counter({
      name: 'agdr_shard_appends_total',
      help: 'Decisions appended to the log',
      registers: [r],
    });
    this.duplicates = new Counter({
      name: 'agdr_shard_duplicates_total',
      help: 'Decisions whose record_id was already in the log (original receipt returned)',
      registers: [r],
    });
    this.batchEntries = new Histogram({
      name: 'agdr_shard_group_commit_entries',
      help: 'Entries per group commit',
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536],
      registers: [r],
    });
    this.fsyncSeconds = new Histogram({
      name: 'agdr_shard_fsync_seconds',
      help: 'fdatasync time per group commit',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [r],
    });
    this.persistSeconds = new Histogram({
      name: 'agdr_shard_persist_seconds',
      help: 'Write plus fdatasync time per group commit',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [r],
    });
    const checkpointAge = (): number => {
      const last = this.#lastCheckpointMs;
      return last === undefined ? -1 : (Date.now() - last) / 1000;
    };
    this.treeSize = new Gauge({
      name: 'agdr_shard_tree_size',
      help: 'Durable leaves in the log',
      registers: [r],
      collect() {
        this.set(treeSize());
      },
    });
    this.checkpointAge = new Gauge({
      name: 'agdr_shard_checkpoint_age_seconds',
      help: 'Seconds since the latest checkpoint was signed by this process (-1: none yet)',
      registers: [r],
      collect() {
        this.set(checkpointAge());
      },
    });
    this.checkpoints = new Counter({
      name: 'agdr_shard_checkpoints_total',
      help: 'Checkpoints signed',
      registers: [r],
    });
    this.checkpointFailures = new Counter({
      name: 'agdr_shard_checkpoint_failures_total',
      help: 'Checkpoint signing or saving failures (appends continue)',
      registers: [r],
    });
    this.checkpointFailing = new Gauge({
      name: 'agdr_shard_checkpoint_consecutive_failures',
      help: 'Checkpoint signings failed in a row (0: signing works; retried with backoff)',
      registers: [r],
    });
    this.scrubbedRecords = new Counter({
      name: 'agdr_shard_scrub_records_total',
      help: 'Stored records the background scrub re-checked against their leaf hashes',
      registers: [r],
    });
    this.scrubPasses = new Counter({
      name: 'agdr_shard_scrub_passes_total',
      help: 'Full passes of the background scrub over the log',
      registers: [r],
    });
    this.storageFailure = new Gauge({
      name: 'agdr_shard_storage_failed',
      help: '1 once the log (failed write, damaged data) or the record_id index can no longer make progress',
      registers: [r],
      collect() {
        this.set(failure() === undefined ? 0 : 1);
      },
    });
    this.rejected = new Counter({
      name: 'agdr_shard_rejected_total',
      help: 'Rejected ingest requests by reason',
      labelNames: ['reason'],
      registers: [r],
    });
    this.authFailures = new Counter({
      name: 'agdr_shard_auth_failures_total',
      help: 'Requests refused by caller authentication (401/403) by reason and action (append, read)',
      labelNames: ['reason', 'action'],
      registers: [r],
    });
  }

  observeBatch(stats: BatchStats): void {
    this.appends.inc(stats.entries);
    this.batchEntries.observe(stats.entries);
    this.fsyncSeconds.observe(stats.syncSeconds);
    this.persistSeconds.observe(stats.persistSeconds);
  }

  checkpointSigned(): void {
    this.#lastCheckpointMs = Date.now();
    this.checkpoints.inc();
    this.checkpointFailing.set(0);
  }

  checkpointFailed(consecutive: number): void {
    this.checkpointFailures.inc();
    this.checkpointFailing.set(consecutive);
  }

  reject(reason: RejectReason): void {
    this.rejected.inc({ reason });
  }
}
