// One running shard: log + record_id index + prepare pool + checkpointer + HTTP server, wired
// from one ShardConfig. `startShard` returns once recovery is done and the server listens.
import { CodedError, describingSystemErrors } from '../core/errors.ts';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { shardOrigin } from '../core/checkpoint.ts';
import { verifierKeyString } from '../core/note.ts';
import type { Signer } from '../core/signer.ts';
import { limitedServer } from '../http-server/server-limits.ts';
import { loadOrCreateFileSigner } from '../keys/file-signer.ts';
import { KEY_HISTORY_FILE, KeyHistoryFile } from '../keys/key-history-file.ts';
import { DIR_MODE, MerkleLog, Scrubber } from '../log-store/index.ts';
import { CallerAuth } from './caller-auth.ts';
import { Checkpointer } from './checkpointer.ts';
import { shardConfig, type ShardConfig, type ShardOptions } from './config.ts';
import { shardApp } from './http.ts';
import { Ingestor, nowNs } from './ingest.ts';
import { ShardMetrics } from './metrics.ts';
import { PreparePool } from './prepare-pool.ts';
import { RecordIndex } from './record-index.ts';
import { BodyBudget } from './request-body.ts';
import { RoutingTable } from './routing-table.ts';

export class ShardStartError extends CodedError<'signer_mismatch'> {
  override name = 'ShardStartError';
}

export interface RunningShard {
  readonly config: ShardConfig;
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  /** The checkpoint origin, `agdr.dev/<namespace>/<cluster>/shard-<i>` (also the key name). */
  readonly origin: string;
  /** C2SP verifier key of the key version that signs now (`name+keyid+base64`). */
  readonly verifierKey: string;
  readonly signer: Signer;
  /** The key's history: the first version and a signed transition per rotation. */
  readonly keyHistory: KeyHistoryFile;
  readonly log: MerkleLog;
  /** Stops accepting, finishes in-flight appends, signs a final checkpoint, closes everything. */
  close(): Promise<void>;
}

/** Default prepare workers: one per core beyond the one running the writer and HTTP. */
export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

export async function startShard(options: ShardOptions): Promise<RunningShard> {
  const config = shardConfig(options, {
    workers: defaultWorkers(),
    logger: options.logger ?? pino({ level: 'silent' }),
  });
  const logger = config.logger.child({ shard: config.shardId });
  const origin = shardOrigin(config.namespace, config.cluster, config.shardId);
  const routing = new RoutingTable(config.routingFile, logger);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: DIR_MODE });
  // The key's directory is the key's: nobody else lists it.
  if (config.signer === undefined)
    fs.mkdirSync(path.dirname(config.keyFile), { recursive: true, mode: 0o700 });
  const signer = config.signer ?? (await loadOrCreateFileSigner(config.keyFile, origin));
  if (signer.name !== origin) {
    throw new ShardStartError(
      'signer_mismatch',
      `signing key is named '${signer.name}', the shard origin is '${origin}'`,
    );
  }
  let treeSize = (): number => 0;
  let failure = (): Error | undefined => undefined;
  const metrics = new ShardMetrics(
    config.shardId,
    () => treeSize(),
    true,
    () => failure(),
  );
  // Before the log opens: missing issuer keys fail the start at once, naming the file.
  const auth = new CallerAuth(config.auth, { metrics, logger });
  const started = performance.now();
  const logDir = path.join(config.dataDir, 'log');
  const log = await describingSystemErrors(`opening the log at ${logDir}`, () =>
    MerkleLog.open({
      dir: logDir,
      // A log opens only as the shard it was created for (swapped volumes fail loudly).
      identity: {
        origin,
        namespace: config.namespace,
        cluster: config.cluster,
        shard_id: config.shardId,
      },
      maxBatchEntries: config.maxBatchEntries,
      maxBatchBytes: config.maxBatchBytes,
      maxBatchWaitMs: config.maxBatchWaitMs,
      fullCheck: config.fullCheck,
      onBatch: (s) => metrics.observeBatch(s),
      onDamage: (err) =>
        logger.error(
          { err: err.message, file: err.file },
          'stored log data is damaged: not served; the shard stops taking decisions and fails /healthz',
        ),
    }),
  );
  const closers: (() => Promise<void>)[] = [() => log.close()];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  try {
    logger.info({ ...log.recovery, ms: Math.round(performance.now() - started) }, 'log recovered');
    if (log.recovery.adoptedIdentity === true)
      logger.warn(
        { origin },
        'log had no identity (created by an older version); adopted this shard',
      );
    if (log.recovery.cleared !== undefined)
      logger.warn({ damage: log.recovery.cleared }, 'recorded damage checks intact again; cleared');
    treeSize = () => log.size;
    // Opened under the log's lock: one process owns the data directory and its key history.
    const historyFile = path.join(config.dataDir, KEY_HISTORY_FILE);
    const keyHistory = await describingSystemErrors(`opening the key history ${historyFile}`, () =>
      KeyHistoryFile.open({ file: historyFile, signer, clock: () => BigInt(nowNs()), logger }),
    );
    const indexDir = path.join(config.dataDir, 'record-index');
    const index = await describingSystemErrors(`opening the record_id index at ${indexDir}`, () =>
      RecordIndex.open(indexDir, log, logger),
    );
    closers.push(() => index.close());
    failure = () => log.failure ?? index.failure;
    if (config.scrubRecordsPerSecond > 0) {
      const scrub = new Scrubber(log, {
        recordsPerSecond: config.scrubRecordsPerSecond,
        onChecked: (n) => metrics.scrubbedRecords.inc(n),
        onPass: (size) => {
          metrics.scrubPasses.inc();
          logger.debug({ size }, 'scrub pass complete');
        },
        onStopped: (err) => logger.error({ err: (err as Error).message }, 'scrub stopped'),
      });
      scrub.start();
      closers.push(() => scrub.stop());
    }
    const ingestor = new Ingestor(
      log,
      index,
      config.shardId,
      (err) => logger.error({ err: (err as Error).message }, 'record_id index write failed'),
      undefined,
      () => routing.current.table,
    );
    closers.push(() => ingestor.drain());
    const pool =
      config.workers > 0
        ? new PreparePool(config.workers, routing.current.table, routing.current.version, logger)
        : undefined;
    if (pool !== undefined) closers.push(() => pool.close());
    routing.onChange((t) => pool?.setTable(t.table, t.version));
    routing.watch(config.routingPollMs);
    closers.push(async () => routing.close());
    auth.watch(config.routingPollMs);
    closers.push(async () => auth.close());

    const checkpointer = new Checkpointer({
      log,
      signer,
      shardId: config.shardId,
      origin,
      intervalMs: config.checkpointIntervalMs,
      routing: () => routing.current.table,
      logger,
      onSigned: () => metrics.checkpointSigned(),
      onFailure: (_err, consecutive) => metrics.checkpointFailed(consecutive),
      appendsSettled: () => ingestor.appendsSettled(),
      beforeSign: () => keyHistory.advance(),
    });
    await checkpointer.signIfDue();
    checkpointer.start();
    // On close: stop the timer, then one final checkpoint of everything acknowledged.
    closers.push(async () => {
      await checkpointer.stop();
      await checkpointer.signIfDue();
    });

    let accepting = true;
    const app = shardApp({
      shardId: config.shardId,
      log,
      ingestor,
      routing,
      pool,
      metrics,
      limits: config.limits,
      browsers: { allowOrigins: config.allowOrigins, allowHosts: config.allowHosts },
      auth,
      bodyBudget: config.bodyBudget ?? new BodyBudget(config.limits.maxInflightBodyBytes),
      accepting: () => accepting,
      indexFailure: () => index.failure,
      onError: (err, req) =>
        logger.error({ err, method: req.method, path: req.path }, 'request failed'),
      onPoolError: (err) =>
        logger.warn({ err: err.message }, 'prepare worker failed; prepared inline'),
      keyHistory: () => keyHistory.document,
      signingFailure: () => checkpointer.failing,
    });
    // Requests that wait on `Expect: 100-continue` go to the app too: ingest sends 100 only
    // once the request passed every check that needs no body (its size among them).
    const server = limitedServer(app, config.limits, app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    logger.info(
      { url, origin, size: log.size, auth: config.auth.mode, reads: config.auth.reads },
      'shard listening',
    );

    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        // Shutdown awaits threads and files that do not keep the process alive on their own:
        // without this the process could end mid-way, its log never closed.
        const keepAlive = setInterval(() => undefined, 60_000);
        try {
          accepting = false;
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
            setTimeout(() => server.closeAllConnections(), 5_000).unref();
          });
          await closeAll();
          logger.info({ size: log.size }, 'shard stopped');
        } finally {
          clearInterval(keepAlive);
        }
      })();
      return closing;
    };
    return {
      config,
      url,
      port,
      origin,
      // The signer's, read when asked: a rotation changes it while the shard runs.
      get verifierKey() {
        return verifierKeyString(origin, signer.publicKey);
      },
      signer,
      keyHistory,
      log,
      close,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
