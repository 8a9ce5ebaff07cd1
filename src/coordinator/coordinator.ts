// The Root Merkle Coordinator: every interval, fetch and verify every shard's checkpoint,
// seal the verified ones into a signed global root record (plus reconstruction records for
// shards that come back), append them durably to the global log, sign the global log's
// checkpoint, and publish it.
import path from 'node:path';
import type { Logger } from 'pino';
import type { Settled } from '../clients/pool.ts';
import { ShardClient } from '../clients/shard-api.ts';
import type { ShardDirectory } from '../clients/shard-endpoints.ts';
import type { TrustBundle } from '../clients/trust.ts';
import type { BrowserPolicy } from '../http-server/browser-guard.ts';
import { bytesEqual } from '../core/bytes.ts';
import { reasonOf } from '../core/errors.ts';
import type { EpochTable } from '../core/routing.ts';
import type { Signer } from '../core/signer.ts';
import { KEY_HISTORY_FILE, KeyHistoryFile } from '../keys/key-history-file.ts';
import { roundDeadline } from './aggregation-timer.ts';
import { checkpointVerification, signGlobalCheckpoint } from './checkpoints.ts';
import { coordinatorOrigin } from '../core/checkpoint.ts';
import { CoordinatorError } from './errors.ts';
import { GlobalLog } from './global-log.ts';
import { createCoordinatorMetrics } from './metrics.ts';
import type { CoordinatorMetrics } from './metrics.ts';
import { CheckpointPublisher } from './publisher.ts';
import { entryFacts, signRoundEntries } from './records.ts';
import { observeShards } from './round-observe.ts';
import { planRound } from './round-plan.ts';
import type { RoundPlan } from './round-plan.ts';
import { reportRound } from './round-report.ts';
import type { RoundResult } from './round-report.ts';
import { openShardListFile } from './shard-list-file.ts';
import { RoutingHistory } from './routing-history.ts';
import type { CheckpointVerification, ShardObservation, ShardReader } from './shard-check.ts';
import { openRoutingFile, shardsToAggregate } from './shard-set.ts';
import { CoordinatorState } from './state.ts';
import {
  readSnapshot,
  restoreSnapshot,
  snapshotOf,
  SnapshotError,
  writeSnapshot,
} from './state-snapshot.ts';
import { openTrustFile } from './trust-file.ts';
import { gapObservations, rememberMisses, type UnsealedMisses } from './unsealed-misses.ts';
import { CoordinatorReads } from './reads.ts';
import { logReloads } from './watched-file.ts';
import type { WatchedJsonFile } from './watched-file.ts';

export interface CoordinatorConfig {
  namespace: string;
  cluster: string;
  /** Directory of the global log. */
  dataDir: string;
  shards: ShardDirectory;
  /** A shard list file re-read when it changes (`--shards-file`); replaces `shards` when set. */
  shardsFile?: string;
  intervalMs: number;
  trustFile: string;
  routingFile: string;
  signer: Signer;
  publishUrl?: string;
  host: string;
  /** Which browser requests the API serves (default: none; any Host for other clients). */
  browsers?: BrowserPolicy;
  /** 0 picks a free port. */
  port: number;
  /** Shards fetched at once. */
  concurrency: number;
  /** Per-shard time limit for one round (checkpoint + consistency proof). */
  shardTimeoutMs: number;
  logger: Logger;
  /** Wall clock in nanoseconds since the Unix epoch. */
  clockNs?: () => bigint;
  /** Called after every sealed global root (e.g. to print a line for a person watching). */
  onSealed?: (result: RoundResult) => void;
  /** How to read a shard; HTTP by default (benchmarks plug in simulated shards). */
  readerFor?: (id: number, url: string) => ShardReader;
}

const wallClockNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

/** Global roots between state snapshots (a restart replays at most this many entries and then some). */
const SNAPSHOT_EVERY = 64;

/** Global log entries the background scrub re-checks per second. */
const GLOBAL_LOG_SCRUB_RATE = 500;

export class Coordinator {
  readonly config: CoordinatorConfig;
  state = new CoordinatorState();
  readonly log: GlobalLog;
  readonly metrics: CoordinatorMetrics;
  /** What the HTTP API serves. */
  readonly view: CoordinatorReads;
  readonly #trust: WatchedJsonFile<TrustBundle>;
  readonly #routing: WatchedJsonFile<EpochTable>;
  readonly #shardList: WatchedJsonFile<ShardDirectory> | undefined;
  readonly #publisher: CheckpointPublisher | undefined;
  readonly #clockNs: () => bigint;
  readonly #readers = new Map<number, ShardReader>();
  readonly #readerUrls = new Map<number, string>();
  readonly #tables: RoutingHistory;
  readonly #verification: CheckpointVerification = checkpointVerification();
  /** End of the latest sealed interval, ns on the coordinator's clock (what lag is measured from). */
  #lastSealedAtNs: bigint | undefined;
  #intervalStartNs: string;
  #roundChain: Promise<unknown> = Promise.resolve();
  /** Aborted on shutdown: a round in flight stops waiting for shards and seals nothing. */
  readonly #stopping = new AbortController();
  #ready = false;
  #replayedFrom = 0;
  /**
   * Set when writing the global log failed part-way: what is durable is only known after a
   * reopen (recovery), so this instance stops sealing and the process should restart.
   */
  #fatal: Error | undefined;

  readonly #keyHistory: KeyHistoryFile;
  /** Shards missed by rounds that could not be sealed since the last sealed one. */
  #unsealedMisses: UnsealedMisses | undefined;

  private constructor(
    config: CoordinatorConfig,
    log: GlobalLog,
    tables: RoutingHistory,
    keyHistory: KeyHistoryFile,
  ) {
    this.config = config;
    this.log = log;
    this.#tables = tables;
    this.#keyHistory = keyHistory;
    this.#clockNs = config.clockNs ?? wallClockNs;
    this.metrics = createCoordinatorMetrics(() =>
      this.#lastSealedAtNs === undefined
        ? undefined
        : Number(this.#clockNs() - this.#lastSealedAtNs) / 1e9,
    );
    const { logger } = config;
    this.#trust = openTrustFile(
      config.trustFile,
      logReloads(logger, 'trust bundle', config.trustFile, (result) =>
        this.metrics.trustReloads.inc({ result }),
      ),
    );
    this.#routing = openRoutingFile(
      config.routingFile,
      logReloads(logger, 'routing table', config.routingFile),
    );
    this.#shardList =
      config.shardsFile === undefined
        ? undefined
        : openShardListFile(config.shardsFile, logReloads(logger, 'shard list', config.shardsFile));
    this.view = new CoordinatorReads({
      log,
      state: () => this.state,
      trust: () => this.#trust.current(),
      routing: () => this.#routing.current(),
      shardDirectory: () => this.#shardDirectory(),
      tables,
      signer: config.signer,
      keyHistory: () => keyHistory.document,
      clockNs: this.#clockNs,
      ready: () => this.ready(),
      failure: () => this.failure(),
      registry: this.metrics.registry,
    });
    this.#intervalStartNs = this.#clockNs().toString();
    if (config.publishUrl !== undefined) {
      this.#publisher = new CheckpointPublisher({
        url: config.publishUrl,
        timeoutMs: 10_000,
        backoffMs: 1000,
        maxBackoffMs: 60_000,
        onPublished: (size) => config.logger.info({ size }, 'global checkpoint published'),
        onFailure: (size, reason, attempt) => {
          this.metrics.publishFailures.inc();
          config.logger.warn(
            { size, reason, attempt },
            'publishing global checkpoint failed; will retry',
          );
        },
      });
    }
  }

  /** Opens the global log and rebuilds the state from it. */
  static async open(config: CoordinatorConfig): Promise<Coordinator> {
    const log = await GlobalLog.open(path.join(config.dataDir, 'log'), {
      identity: {
        origin: coordinatorOrigin(config.namespace, config.cluster),
        namespace: config.namespace,
        cluster: config.cluster,
      },
      onDamage: (err) =>
        config.logger.error(
          { err: err.message, file: err.file },
          'global log data is damaged: not served; /healthz and /readyz fail',
        ),
    });
    // Under the global log's lock, before anything is signed: a rotation made while the
    // coordinator was down is recorded first.
    const keyHistory = await KeyHistoryFile.open({
      file: path.join(config.dataDir, KEY_HISTORY_FILE),
      signer: config.signer,
      clock: config.clockNs ?? wallClockNs,
      logger: config.logger,
    }).catch(async (err: unknown) => {
      await log.close();
      throw err;
    });
    const c = new Coordinator(
      config,
      log,
      new RoutingHistory(path.join(config.dataDir, 'routing-tables')),
      keyHistory,
    );
    if (log.adoptedIdentity)
      config.logger.warn(
        { dir: path.join(config.dataDir, 'log') },
        'global log had no identity (created by an older version); adopted this coordinator',
      );
    await c.#recover();
    // Entries are few and small next to a shard's records: a slow scrub covers them often.
    log.startScrub({
      recordsPerSecond: GLOBAL_LOG_SCRUB_RATE,
      onChecked: (n) => c.metrics.scrubbedEntries.inc(n),
      onStopped: (err) => config.logger.error({ err: reasonOf(err) }, 'global log scrub stopped'),
    });
    return c;
  }

  get #snapshotFile(): string {
    return path.join(this.config.dataDir, 'state.json');
  }

  async #recover(): Promise<void> {
    const size = this.log.size;
    const from = await this.#restoreSnapshot();
    this.#replayedFrom = from;
    for (let i = from; i < size; i++) this.state.apply(i, entryFacts(await this.log.read(i)));
    if (this.state.lastRoot !== undefined) {
      const last = entryFacts(await this.log.read(this.state.lastRoot.index));
      if (last.kind === 'global_root') {
        this.#intervalStartNs = last.interval_end_ns;
        // Lag counts from when the latest root was sealed, not from this restart: a coordinator
        // that was down for an hour is an hour behind.
        this.#lastSealedAtNs = BigInt(last.interval_end_ns);
      }
    }
    // A crash between appending and checkpointing leaves the log ahead of its checkpoint.
    const latest = this.log.latestCheckpointSize();
    if (size > 0 && latest < size) await this.#checkpoint();
    this.metrics.globalLogSize.set(size);
    this.metrics.openMissedIntervals.set(this.state.openIntervalCount());
    this.#ready = true;
    this.config.logger.info(
      {
        size,
        replayed_from: this.#replayedFrom,
        next_global_root_id: this.state.nextId,
        open_intervals: this.state.openIntervalCount(),
      },
      'global log recovered',
    );
  }

  /** Loads the state snapshot if it matches the log; returns the size to replay from. */
  async #restoreSnapshot(): Promise<number> {
    try {
      const value = readSnapshot(this.#snapshotFile);
      if (value === undefined) return 0;
      const snap = restoreSnapshot(value);
      if (
        snap.size > this.log.size ||
        !bytesEqual(await this.log.rootAt(snap.size), snap.logRoot)
      ) {
        throw new SnapshotError(`snapshot at size ${snap.size} is not a state of this global log`);
      }
      this.state = snap.state;
      return snap.size;
    } catch (err) {
      if (!(err instanceof SnapshotError)) throw err;
      this.config.logger.warn(
        { err: err.message },
        'state snapshot ignored; replaying the whole global log',
      );
      this.state = new CoordinatorState();
      return 0;
    }
  }

  async #saveSnapshot(): Promise<void> {
    await writeSnapshot(
      this.#snapshotFile,
      snapshotOf(this.state, await this.log.rootAt(this.state.size)),
    );
  }

  /** Where the shards are now: the shard list file's latest content, or the fixed directory. */
  #shardDirectory(): ShardDirectory {
    return this.#shardList?.current() ?? this.config.shards;
  }

  #reader(id: number, url: string): ShardReader {
    let r = this.#readers.get(id);
    // A shard that moved (a new pod IP in the shard list file) gets a reader for its new URL.
    if (r === undefined || this.#readerUrls.get(id) !== url) {
      r = this.config.readerFor
        ? this.config.readerFor(id, url)
        : new ShardClient(url, this.config.shardTimeoutMs);
      this.#readers.set(id, r);
      this.#readerUrls.set(id, url);
    }
    return r;
  }

  /** Runs one aggregation round now (rounds never overlap: a second call waits for the first). */
  aggregate(): Promise<RoundResult> {
    const run = this.#roundChain.then(() => {
      if (this.#fatal !== undefined) throw this.#fatal;
      return this.#round();
    });
    this.#roundChain = run.catch((err: unknown) => {
      if (err instanceof CoordinatorError && err.code === 'stopped')
        this.config.logger.info('aggregation round abandoned for shutdown');
      else this.config.logger.error({ err: reasonOf(err) }, 'aggregation round failed');
    });
    return run;
  }

  /** One round: observe every shard -> plan the records -> commit them -> report. */
  async #round(): Promise<RoundResult> {
    const t0 = Date.now();
    // A key rotation is recorded before this round reads the clock for anything it signs.
    await this.#keyHistory.advance();
    const nowNs = this.#clockNs();
    const routing = this.#routing.current();
    const ids = shardsToAggregate(routing, nowNs, this.state);
    const observations = await observeShards(ids, {
      namespace: this.config.namespace,
      cluster: this.config.cluster,
      shards: this.#shardDirectory(),
      trust: this.#trust.current(),
      nowNs,
      state: this.state,
      readerFor: (id, url) => this.#reader(id, url),
      verification: this.#verification,
      concurrency: this.config.concurrency,
      shardTimeoutMs: this.config.shardTimeoutMs,
      deadlineMs: roundDeadline(t0, this.config.intervalMs),
      stop: this.#stopping.signal,
    });
    // Shutting down: a root with every unanswered shard marked missing would be a false record.
    if (this.#stopping.signal.aborted) {
      throw new CoordinatorError('stopped', 'round abandoned: the coordinator is shutting down');
    }
    // Shards missed while rounds could not be sealed: their gap is sealed first, so it is on
    // record and a shard answering again now is reconstructed (unsealed-misses.ts).
    if (this.#unsealedMisses !== undefined) {
      const gap = planRound({
        ids,
        observations: gapObservations(this.#unsealedMisses, ids, observations),
        state: this.state,
        routing,
        intervalStartNs: this.#intervalStartNs,
        endNs: this.#clockNs(),
      });
      await this.#commitOrRemember(gap, ids, observations);
      this.#unsealedMisses = undefined;
      this.#reportSealed(gap, t0);
    }
    const plan = planRound({
      ids,
      observations,
      state: this.state,
      routing,
      intervalStartNs: this.#intervalStartNs,
      endNs: this.#clockNs(),
    });
    await this.#commitOrRemember(plan, ids, observations);
    return this.#reportSealed(plan, t0);
  }

  /** Commits a plan; if it could not be (signing failed), remembers what the round missed. */
  async #commitOrRemember(
    plan: RoundPlan,
    ids: readonly number[],
    observations: readonly (Settled<ShardObservation> | undefined)[],
  ): Promise<void> {
    try {
      await this.#commit(plan);
    } catch (err) {
      if (this.#fatal === undefined)
        this.#unsealedMisses = rememberMisses(this.#unsealedMisses, ids, observations);
      throw err;
    }
  }

  #reportSealed(plan: RoundPlan, t0: number): RoundResult {
    this.#lastSealedAtNs = BigInt(plan.intervalEndNs);
    const result = reportRound(
      {
        plan,
        globalMerkleRoot: this.state.lastRoot?.root ?? '',
        logSize: this.log.size,
        openMissedIntervals: this.state.openIntervalCount(),
        durationMs: Date.now() - t0,
      },
      this.metrics,
      this.config.logger,
    );
    this.config.onSealed?.(result);
    return result;
  }

  /**
   * Signs the plan's records, appends them durably, signs the global checkpoint, and only then
   * applies them to the state (what the API shows is always covered by a signed checkpoint).
   */
  async #commit(plan: RoundPlan): Promise<void> {
    const origins = { namespace: this.config.namespace, cluster: this.config.cluster };
    // The exact table the record commits to must stay retrievable for evidence bundles.
    await this.#tables.remember(plan.globalRoot.routing);
    const entries = await signRoundEntries(plan, origins, this.config.signer);
    try {
      const first = this.log.size;
      await this.log.append(entries);
      await this.#checkpoint();
      entries.forEach((bytes, k) => this.state.apply(first + k, entryFacts(bytes)));
      this.#intervalStartNs = plan.intervalEndNs;
    } catch (err) {
      // What is durable is only known after a reopen (recovery): stop sealing, restart.
      this.#fatal = new CoordinatorError(
        'global_log_failed',
        `global log write failed: ${reasonOf(err)}`,
      );
      this.#ready = false;
      throw this.#fatal;
    }
    if (this.state.nextId % SNAPSHOT_EVERY === 0) {
      // Only a shortcut for restarts: failing to write one costs a longer replay, nothing else.
      await this.#saveSnapshot().catch((err: unknown) =>
        this.config.logger.warn({ err: reasonOf(err) }, 'state snapshot not written'),
      );
    }
  }

  async #checkpoint(): Promise<void> {
    const size = this.log.size;
    const note = await signGlobalCheckpoint(
      this.config.namespace,
      this.config.cluster,
      size,
      this.log.root(),
      this.#clockNs(),
      this.config.signer,
    );
    await this.log.saveCheckpoint(size, note);
    this.#publisher?.publish(size, note);
  }

  /** Whether it serves (recovered, and neither its global log nor a write has failed). */
  ready(): boolean {
    return this.#ready && this.failure() === undefined;
  }

  failure(): Error | undefined {
    return this.#fatal ?? this.log.failure;
  }

  /** The global log size the last recovery replayed from (0: the whole log; else a snapshot's). */
  get replayedFrom(): number {
    return this.#replayedFrom;
  }

  /** The error that stopped this coordinator from sealing, if any (restart to recover). */
  get fatal(): Error | undefined {
    return this.#fatal;
  }

  // --- lifecycle -------------------------------------------------------------------------

  /** Stops a round in flight from waiting for shards (it then seals nothing); for shutdown. */
  interrupt(): void {
    this.#stopping.abort();
  }

  async close(): Promise<void> {
    this.interrupt();
    this.#publisher?.close();
    await this.#roundChain;
    if (this.#fatal === undefined && this.state.size > 0) await this.#saveSnapshot();
    await this.log.close();
  }
}
