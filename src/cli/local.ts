// `agdr local`: the embedded default — N shards and a coordinator on 127.0.0.1, file-backed
// keys, a routing table and trust bundle it writes itself. No Kubernetes, no Vault.
import path from 'node:path';
import pino from 'pino';
import { defineCommand, UsageError } from './command.ts';
import { countExternalMemoryInHeapLimit } from './v8-heap.ts';
import { parseDuration, parsePort, parsePositiveInt } from './client/duration.ts';
import { existingShardCount, prepareLocalCluster } from './client/local-cluster.ts';
import type { LocalClusterFiles } from './client/local-cluster.ts';
import { failureMessage } from './client/failure.ts';
import { waitForSignal } from './client/signals.ts';
import { startCoordinator } from '../coordinator/server.ts';
import type { RoundResult } from '../coordinator/round-report.ts';
import type { RunningCoordinator } from '../coordinator/server.ts';
import { BodyBudget, DEFAULT_SHARD_LIMITS, startShard } from '../shard-runtime/index.ts';
import { LogStoreError } from '../log-store/index.ts';

const help = `agdr local — N shards and a coordinator on 127.0.0.1 (the embedded default)

Starts N shards (each its own durable Merkle log and Ed25519 key) and a Root Merkle
Coordinator in one process, with file-backed keys, a routing epoch table (hash by entity,
jump consistent hash) and a trust bundle it writes into the data directory. Restarted on the
same directory it resumes the same logs.

Usage: agdr local [--shards N] [--data DIR] [--port P] [--interval DURATION] [--json]

Options:
  --shards N           number of shards (default: 4, or what DIR was created with)
  --data DIR           data directory (default: ./agdr-data)
  --port P             coordinator port; shard i listens on P+1+i (default: 7070;
                       0 picks free ports for everything)
  --interval DURATION  global root interval (default: 5s; at least 1s)
  --checkpoint-interval DURATION
                       shard checkpoint interval (default: 1s)
  --json               print one JSON line {"coordinator", "shards": [{"id", "url"}], "data"}
                       and log JSON to stderr
  --init               only write keys, routing table and trust bundle, print their paths
                       as one JSON line, and exit (to run 'agdr shard' and
                       'agdr coordinator' processes yourself)
  -h, --help           this text

Then, in another terminal:
  agdr submit examples/decisions.ndjson --coordinator http://127.0.0.1:7070
  curl http://127.0.0.1:7070/v1/global-roots/latest
  agdr prove --coordinator http://127.0.0.1:7070 --record-id ID --out bundle.json
  agdr verify bundle.json --trust DIR/trust.json
`;

const options = {
  shards: { type: 'string' },
  data: { type: 'string', default: './agdr-data' },
  port: { type: 'string', default: '7070' },
  interval: { type: 'string', default: '5s' },
  'checkpoint-interval': { type: 'string', default: '1s' },
  json: { type: 'boolean', default: false },
  init: { type: 'boolean', default: false },
} as const;

export interface LocalConfig {
  dataDir: string;
  /** Undefined: as many as the data directory holds (4 for a new one). */
  shards: number | undefined;
  /** The coordinator's port; shard i listens on basePort + 1 + i (all free ports for 0). */
  basePort: number;
  intervalMs: number;
  checkpointIntervalMs: number;
  json: boolean;
  /** Only prepare the data directory and print what it holds. */
  init: boolean;
}

export const command = defineCommand({
  name: 'local',
  summary: 'run N shards and a coordinator on 127.0.0.1',
  help,
  options,
  configure(flags): LocalConfig {
    const intervalMs = parseDuration(flags.interval, '--interval');
    if (intervalMs < 1000) throw new UsageError('--interval: must be at least 1s');
    return {
      dataDir: path.resolve(flags.data),
      shards:
        flags.shards === undefined ? undefined : parsePositiveInt(flags.shards, '--shards', 256),
      basePort: parsePort(flags.port, '--port'),
      intervalMs,
      checkpointIntervalMs: parseDuration(flags['checkpoint-interval'], '--checkpoint-interval'),
      json: flags.json,
      init: flags.init,
    };
  },
  async run(values) {
    countExternalMemoryInHeapLimit();
    const { dataDir, basePort, intervalMs, checkpointIntervalMs } = values;
    let files: LocalClusterFiles;
    try {
      const shardCount = values.shards ?? existingShardCount(dataDir) ?? 4;
      if (basePort + shardCount > 65535) {
        throw new UsageError(`--port: '${basePort}' leaves no room for ${shardCount} shard ports`);
      }
      files = await prepareLocalCluster(dataDir, shardCount);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      process.stderr.write(`agdr local: ${failureMessage(err)}\n`);
      return 1;
    }
    if (values.init) {
      process.stdout.write(
        JSON.stringify({
          data: dataDir,
          namespace: files.namespace,
          cluster: files.cluster,
          routing: files.routingFile,
          trust: files.trustFile,
          shards: files.shards.map((s) => ({ id: s.id, data: s.dataDir, key: s.keyFile })),
          coordinator: { data: files.coordinator.dataDir, key: files.coordinator.keyFile },
        }) + '\n',
      );
      return 0;
    }

    // Human-readable logs go to a file unless --json asked for JSON on stderr.
    const logger = values.json
      ? pino({ level: 'info' }, pino.destination(2))
      : pino(
          { level: 'info' },
          pino.destination({ dest: path.join(dataDir, 'agdr.log'), mkdir: true }),
        );
    const shards: { id: number; url: string; close(): Promise<void> }[] = [];
    let coordinator: RunningCoordinator | undefined;
    const closeAll = async (): Promise<void> => {
      await coordinator?.close();
      await Promise.all(shards.map((s) => s.close()));
    };
    // One process: its shards share one bound on the request bodies held in memory.
    const bodyBudget = new BodyBudget(DEFAULT_SHARD_LIMITS.maxInflightBodyBytes);
    try {
      for (const s of files.shards) {
        const running = await startShard({
          dataDir: s.dataDir,
          shardId: s.id,
          host: '127.0.0.1',
          port: basePort === 0 ? 0 : basePort + 1 + s.id,
          routingFile: files.routingFile,
          signer: s.signer,
          namespace: files.namespace,
          cluster: files.cluster,
          checkpointIntervalMs,
          bodyBudget,
          // One validation worker per shard while that stays within a small machine's cores.
          workers: files.shards.length <= 4 ? 1 : 0,
          logger: logger.child({ svc: `shard-${s.id}` }),
        });
        shards.push({ id: s.id, url: running.url, close: () => running.close() });
      }
      coordinator = await startCoordinator({
        namespace: files.namespace,
        cluster: files.cluster,
        dataDir: files.coordinator.dataDir,
        shards: { kind: 'list', shards: shards.map((s) => ({ id: s.id, url: s.url })) },
        intervalMs,
        trustFile: files.trustFile,
        routingFile: files.routingFile,
        signer: files.coordinator.signer,
        host: '127.0.0.1',
        port: basePort,
        concurrency: 64,
        shardTimeoutMs: Math.min(5000, intervalMs),
        logger: logger.child({ svc: 'coordinator' }),
        // Without --json, show each global root that sealed something new or missed a shard.
        onSealed: values.json ? undefined : (r) => printRound(r, shards.length),
      });
    } catch (err) {
      await closeAll();
      const hint =
        err instanceof LogStoreError && err.code === 'locked'
          ? ` (is another agdr process using ${dataDir}?)`
          : '';
      process.stderr.write(`agdr local: ${failureMessage(err)}${hint}\n`);
      return 1;
    }
    if (values.json) {
      process.stdout.write(
        JSON.stringify({
          coordinator: coordinator.url,
          shards: shards.map((s) => ({ id: s.id, url: s.url })),
          data: dataDir,
        }) + '\n',
      );
    } else {
      const lines = [
        `agdr local: ${shards.length} shards and a coordinator on 127.0.0.1 (data: ${dataDir})`,
        `  coordinator  ${coordinator.url}   (global root every ${intervalMs / 1000}s)`,
        ...shards.map((s) => `  shard ${String(s.id).padEnd(6)} ${s.url}`),
        `  trust bundle ${coordinator.url}/v1/keys   logs: ${path.join(dataDir, 'agdr.log')}`,
        '',
        'Try:',
        `  npx agdr submit examples/decisions.ndjson --coordinator ${coordinator.url}`,
        `  curl ${coordinator.url}/v1/global-roots/latest`,
        `  npx agdr prove --coordinator ${coordinator.url} --record-id <record_id> --out bundle.json`,
        `  npx agdr verify bundle.json --trust ${files.trustFile}`,
        '',
        'Ctrl-C stops everything; run the same command again to resume.',
      ];
      process.stdout.write(lines.join('\n') + '\n');
    }
    // A coordinator that can no longer write its global log stops sealing: exit (non-zero)
    // rather than keep shards running under a coordinator that only answers 503 on /readyz.
    const outcome = await Promise.race([waitForSignal(), coordinator.failed]);
    if (outcome instanceof Error) {
      process.stderr.write(
        `agdr local: coordinator stopped: ${outcome.message}; restart to recover\n`,
      );
      await closeAll().catch((err: unknown) => logger.error({ err: String(err) }, 'close failed'));
      return 1;
    }
    await closeAll();
    return 0;
  },
});

let lastLine = '';

function printRound(r: RoundResult, shardCount: number): void {
  const statuses = Object.entries(r.statuses);
  const ok = statuses.filter(([, s]) => s === 'ok').length;
  const problems = statuses.filter(([, s]) => s !== 'ok').map(([id, s]) => `shard ${id} ${s}`);
  const recon =
    r.reconstructions.length > 0 ? `, reconstructed shard ${r.reconstructions.join(', ')}` : '';
  const line = `${ok}/${shardCount} shards ok${problems.length ? ` (${problems.join(', ')})` : ''}${recon}`;
  if (r.totalRecords === 0 && line === lastLine && r.globalRootId > 0) return;
  lastLine = line;
  process.stdout.write(
    `global root ${r.globalRootId}: ${line}, ${r.totalRecords} new record(s), root ${r.globalMerkleRoot.slice(0, 16)}…\n`,
  );
}
