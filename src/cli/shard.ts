// `agdr shard`: one AgDR shard as a process.
import path from 'node:path';
import { pino } from 'pino';
import { shardOrigin } from '../core/checkpoint.ts';
import { DEFAULT_BATCH_BYTES, LogStoreError } from '../log-store/index.ts';
import { clusterAudience, parseSubjectPattern } from '../core/service-account-token.ts';
import type { SubjectPattern } from '../core/service-account-token.ts';
import {
  AUTH_MODES,
  CallerAuthError,
  READ_ACCESS,
  RoutingTableError,
  checkCallerAuthConfig,
  defaultWorkers,
  startShard,
} from '../shard-runtime/index.ts';
import type { CallerAuthConfig, ShardOptions } from '../shard-runtime/index.ts';
import {
  parseDuration,
  parseLogLevel,
  parsePort,
  parsePositiveInt,
  required,
} from './client/duration.ts';
import { BROWSER_FLAG_OPTIONS, browserFlagsHelp, parseBrowserFlags } from './browser-flags.ts';
import { defineCommand, UsageError } from './command.ts';
import { countExternalMemoryInHeapLimit } from './v8-heap.ts';
import { waitForSignal } from './client/signals.ts';
import {
  openSigner,
  parseSignerFlags,
  SIGNER_FLAG_OPTIONS,
  SIGNER_FLAGS_HELP,
  signerStartError,
  type SignerFlags,
} from './signer-flags.ts';

const help = `agdr shard — run one AgDR shard

A durable, append-only Merkle log of decision envelopes with its own Ed25519 key. Decisions
are validated, routed and group-committed (acknowledged only once on disk); a C2SP checkpoint
is signed every interval while the log grew; proofs are served for any past size.

Usage: agdr shard --data DIR --shard-id N --routing FILE [options]

Options:
  --data DIR                 data directory: log/, record-index/, key.json (created if missing)
  --shard-id N               this shard's id (0-based, the StatefulSet ordinal)
  --routing FILE             routing epoch table JSON; re-read when it changes
  --key FILE                 Ed25519 key file with --signer file (created with mode 0600 if
                             missing; default: DIR/key.json)
  --host ADDR                listen address (default: 127.0.0.1)
  --port PORT                listen port (default: 7071; 0 picks a free one)
  --checkpoint-interval DUR  sign a checkpoint this often while the log grew (default: 1s)
  --namespace NAME           namespace part of the origin agdr.dev/NS/CLUSTER/shard-N
                             (default: default)
  --cluster NAME             cluster part of the origin (default: local)
  --max-batch-entries N      most decisions in one group commit (default: 16384)
  --max-batch-bytes BYTES    most bytes in one group commit (default: 1572864, 1.5 MiB; larger
                             suits disks whose fdatasync is slow, see docs/PERFORMANCE.md)
  --max-batch-wait DUR       how long an idle writer waits to fill a group commit
                             (default: 0ms: write at once, batch whatever queued meanwhile)
  --max-body BYTES           largest POST /v1/decisions body (default: 4194304)
  --max-batch-body BYTES     largest POST /v1/decisions:batch body (default: 67108864)
  --max-batch-lines N        most NDJSON lines in one batch request (default: 20000)
  --max-inflight-body BYTES  request body bytes held in memory at once, all requests together
                             (default: 134217728, 128 MiB); past it ingest answers 503
                             overloaded (Retry-After: 1)
  --body-timeout DUR         cut a request body that sends nothing for this long: 408
                             (default: 10s)
  --headers-timeout DUR      time to receive a request's head (default: 10s)
  --request-timeout DUR      time to receive a whole request (default: 120s)
  --max-connections N        most open connections; more are closed at once (default: 1024)
  --auth MODE                who may append: none (default: anyone who reaches the port) or
                             serviceAccountToken (a Kubernetes ServiceAccount token in
                             Authorization: Bearer, verified locally against --auth-issuer-keys;
                             401 without a valid one, 403 for a ServiceAccount not allowed)
  --auth-issuer-keys FILE    the service-account issuer and its public keys, JSON
                             {"issuer", "keys": [JWK]} (the operator publishes it from the API
                             server's /openid/v1/jwks); re-read when it changes
  --auth-audience AUD        the audience tokens must be issued for (default:
                             agdr.dev/NAMESPACE/CLUSTER)
  --allow-writer NS[/SA]     a ServiceAccount, or every ServiceAccount of a namespace, that may
                             append (repeatable; at least one with --auth serviceAccountToken)
  --reads ACCESS             who may read records (/v1/records): open (default) or
                             authenticated (writers and --allow-reader subjects); checkpoints,
                             proofs, routing, probes and metrics stay open
  --allow-reader NS[/SA]     a ServiceAccount or namespace that may read records (repeatable)
  --workers N                threads that parse and validate batches (default: cores - 1,
                             at least 1; 0 validates on the main thread; the record_id index
                             is always written by one more thread, agdr-index)
  --full-check               on start, re-hash every record and tile instead of the tail
  --scrub-rate N             records per second the background scrub re-checks against their
                             leaf hashes, over and over (default: 1000; 0 turns it off)
  --json                     print one JSON line {"url", "shard_id", "origin", "verifier_key",
                             "size"} on stdout once listening
  --log-level LEVEL          pino level: debug, info, warn, error (default: info)
  -h, --help                 this text

${browserFlagsHelp('shard')}
Signing key (a Vault transit key signs without its private half ever leaving Vault; while
Vault is unreachable decisions are still appended and acknowledged, and checkpoints are
signed once it answers again):
${SIGNER_FLAGS_HELP}
Exit status: 0 after SIGTERM/SIGINT (stops accepting, finishes the group commit in flight,
signs a final checkpoint); 1 if the log is corrupt or cannot be opened; 2 on bad usage.

API: POST /v1/decisions, POST /v1/decisions:batch (NDJSON), GET /v1/checkpoint,
/v1/checkpoints?size=N, /v1/proofs/inclusion?index=I&size=N, /v1/proofs/consistency?from=M&to=N,
/v1/records/:seq, /v1/records?record_id=ID, /v1/routing, /healthz, /readyz, /metrics
(see docs/API.md). /healthz fails once the log (a failed write, damaged data) or the record_id
index can no longer make progress: restart the shard; recovery decides what is durable and
re-indexes from the log, and damage recorded in log/DAMAGE keeps it from starting until the
data is restored.
`;

function wholeNumber(text: string, flag: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(text)) throw new UsageError(`${flag}: not a whole number`);
  return Number(text);
}

function byteCount(text: string, flag: string): number {
  return parsePositiveInt(text, flag, 2 ** 31 - 1);
}

function oneOf<T extends string>(text: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`${flag}: '${text}' is not one of ${allowed.join(', ')}`);
  return text as T;
}

function subjects(texts: string[] | undefined, flag: string): SubjectPattern[] {
  return (texts ?? []).map((t) => {
    try {
      return parseSubjectPattern(t, flag);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });
}

function parseAuthFlags(flags: {
  auth: string;
  'auth-issuer-keys'?: string;
  'auth-audience'?: string;
  'allow-writer'?: string[];
  reads: string;
  'allow-reader'?: string[];
  namespace: string;
  cluster: string;
}): CallerAuthConfig {
  const config: CallerAuthConfig = {
    mode: oneOf(flags.auth, AUTH_MODES, '--auth'),
    issuerKeysFile:
      flags['auth-issuer-keys'] === undefined ? undefined : path.resolve(flags['auth-issuer-keys']),
    audience: flags['auth-audience'] ?? clusterAudience(flags.namespace, flags.cluster),
    writers: subjects(flags['allow-writer'], '--allow-writer'),
    reads: oneOf(flags.reads, READ_ACCESS, '--reads'),
    readers: subjects(flags['allow-reader'], '--allow-reader'),
  };
  try {
    checkCallerAuthConfig(config);
  } catch (err) {
    const flag: Record<string, string> = {
      'auth.reads': '--reads authenticated',
      'auth.issuerKeysFile': '--auth-issuer-keys',
      'auth.audience': '--auth-audience',
      'auth.writers': '--allow-writer',
    };
    const e = err as CallerAuthError;
    throw new UsageError(`${flag[e.path] ?? e.path}: ${e.message.slice(e.path.length + 2)}`);
  }
  return config;
}

const options = {
  data: { type: 'string' },
  'shard-id': { type: 'string' },
  routing: { type: 'string' },
  key: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '7071' },
  'checkpoint-interval': { type: 'string', default: '1s' },
  namespace: { type: 'string', default: 'default' },
  cluster: { type: 'string', default: 'local' },
  'max-batch-entries': { type: 'string', default: '16384' },
  'max-batch-bytes': { type: 'string', default: String(DEFAULT_BATCH_BYTES) },
  'max-batch-wait': { type: 'string', default: '0ms' },
  'max-body': { type: 'string', default: String(4 << 20) },
  'max-batch-body': { type: 'string', default: String(64 << 20) },
  'max-batch-lines': { type: 'string', default: '20000' },
  'max-inflight-body': { type: 'string', default: String(128 << 20) },
  'body-timeout': { type: 'string', default: '10s' },
  'headers-timeout': { type: 'string', default: '10s' },
  'request-timeout': { type: 'string', default: '120s' },
  'max-connections': { type: 'string', default: '1024' },
  ...BROWSER_FLAG_OPTIONS,
  auth: { type: 'string', default: 'none' },
  'auth-issuer-keys': { type: 'string' },
  'auth-audience': { type: 'string' },
  'allow-writer': { type: 'string', multiple: true },
  reads: { type: 'string', default: 'open' },
  'allow-reader': { type: 'string', multiple: true },
  workers: { type: 'string' },
  'full-check': { type: 'boolean', default: false },
  'scrub-rate': { type: 'string', default: '1000' },
  json: { type: 'boolean', default: false },
  'log-level': { type: 'string', default: 'info' },
  ...SIGNER_FLAG_OPTIONS,
} as const;

/** What `agdr shard` runs with: the shard's options less the logger, which run() creates. */
export interface ShardCommandConfig extends Omit<ShardOptions, 'logger' | 'signer'> {
  /** Where the signing key lives. */
  signer: SignerFlags;
  namespace: string;
  cluster: string;
  keyFile: string;
  /** Undefined: one less than the cores (defaultWorkers()). */
  workers: number | undefined;
  logLevel: string;
  json: boolean;
}

export const command = defineCommand({
  name: 'shard',
  summary: 'run one shard: durable Merkle log of decisions with an HTTP API',
  help,
  options,
  configure(flags): ShardCommandConfig {
    const given = required(flags, 'data', 'shard-id', 'routing');
    if (!/^(0|[1-9][0-9]{0,8})$/.test(given['shard-id']))
      throw new UsageError('--shard-id: not a shard id');
    const wait = flags['max-batch-wait'].trim();
    const workers = flags.workers;
    if (workers !== undefined && !/^\d+$/.test(workers))
      throw new UsageError('--workers: not a whole number');
    const dataDir = path.resolve(given.data);
    return {
      signer: parseSignerFlags(flags),
      dataDir,
      shardId: Number(given['shard-id']),
      routingFile: path.resolve(given.routing),
      keyFile: path.resolve(flags.key ?? path.join(dataDir, 'key.json')),
      host: flags.host,
      port: parsePort(flags.port, '--port'),
      checkpointIntervalMs: parseDuration(flags['checkpoint-interval'], '--checkpoint-interval'),
      namespace: flags.namespace,
      cluster: flags.cluster,
      maxBatchEntries: parsePositiveInt(flags['max-batch-entries'], '--max-batch-entries', 1 << 20),
      maxBatchBytes: byteCount(flags['max-batch-bytes'], '--max-batch-bytes'),
      maxBatchWaitMs: /^0+(ms|s)?$/.test(wait) ? 0 : parseDuration(wait, '--max-batch-wait'),
      limits: {
        maxBodyBytes: byteCount(flags['max-body'], '--max-body'),
        maxBatchBodyBytes: byteCount(flags['max-batch-body'], '--max-batch-body'),
        maxBatchLines: parsePositiveInt(flags['max-batch-lines'], '--max-batch-lines', 10_000_000),
        maxInflightBodyBytes: byteCount(flags['max-inflight-body'], '--max-inflight-body'),
        bodyIdleTimeoutMs: parseDuration(flags['body-timeout'], '--body-timeout'),
        headersTimeoutMs: parseDuration(flags['headers-timeout'], '--headers-timeout'),
        requestTimeoutMs: parseDuration(flags['request-timeout'], '--request-timeout'),
        maxConnections: parsePositiveInt(flags['max-connections'], '--max-connections', 1 << 20),
      },
      ...parseBrowserFlags(flags),
      auth: parseAuthFlags(flags),
      workers: workers === undefined ? undefined : Number(workers),
      fullCheck: flags['full-check'],
      scrubRecordsPerSecond: wholeNumber(flags['scrub-rate'], '--scrub-rate'),
      logLevel: parseLogLevel(flags['log-level']),
      json: flags.json,
    };
  },
  async run({ signer: signerFlags, logLevel, json, workers, ...options }) {
    countExternalMemoryInHeapLimit();
    const logger = pino({ level: logLevel, base: { svc: 'shard' } }, pino.destination(2));
    let running;
    let opened;
    try {
      const origin = shardOrigin(options.namespace, options.cluster, options.shardId);
      opened = await openSigner(signerFlags, {
        name: origin,
        namespace: options.namespace,
        cluster: options.cluster,
        component: { shard: options.shardId },
        keyFile: options.keyFile,
        logger,
      });
      running = await startShard({
        ...options,
        workers: workers ?? defaultWorkers(),
        logger,
        signer: opened.signer,
      });
    } catch (err) {
      await opened?.close();
      const known = signerStartError(err);
      if (
        err instanceof LogStoreError ||
        err instanceof RoutingTableError ||
        err instanceof CallerAuthError ||
        known
      ) {
        process.stderr.write(`agdr shard: ${(err as Error).message}\n`);
        return 1;
      }
      throw err;
    }
    // Listen for the stop signal before announcing the URL: a caller may stop us right away.
    const stopped = waitForSignal();
    if (json) {
      process.stdout.write(
        JSON.stringify({
          url: running.url,
          shard_id: options.shardId,
          origin: running.origin,
          verifier_key: running.verifierKey,
          size: running.log.size,
        }) + '\n',
      );
    } else {
      process.stderr.write(
        `agdr shard: shard ${options.shardId} (${running.origin}) listening on ${running.url}\n`,
      );
    }
    const signal = await stopped;
    logger.info({ signal }, 'shutting down');
    await running.close();
    await opened.close();
    return 0;
  },
});
