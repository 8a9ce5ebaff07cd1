// `agdr coordinator`: the Root Merkle Coordinator as a process.
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { BROWSER_FLAG_OPTIONS, browserFlagsHelp, parseBrowserFlags } from './browser-flags.ts';
import { defineCommand, UsageError } from './command.ts';
import { countExternalMemoryInHeapLimit } from './v8-heap.ts';
import {
  parseDuration,
  parseHttpUrl,
  parseLogLevel,
  parsePort,
  parsePositiveInt,
  required,
  shardsFlag,
} from './client/duration.ts';
import {
  openSigner,
  parseSignerFlags,
  SIGNER_FLAG_OPTIONS,
  SIGNER_FLAGS_HELP,
  type OpenedSigner,
  type SignerFlags,
} from './signer-flags.ts';
import { coordinatorOrigin } from '../core/checkpoint.ts';
import { DIR_MODE } from '../log-store/index.ts';
import { startCoordinator } from '../coordinator/server.ts';
import type { CoordinatorConfig } from '../coordinator/coordinator.ts';
import { coordinatorKeyEntry } from '../coordinator/checkpoints.ts';
import { failureMessage } from './client/failure.ts';
import { waitForSignal } from './client/signals.ts';

const help = `agdr coordinator — the Root Merkle Coordinator

Every interval it fetches each shard's signed checkpoint, verifies the signature against the
trust bundle and the consistency proof from the checkpoint it sealed last, builds the Root
Merkle Tree, signs a Global Root Record and appends it to the global log (a Merkle log with
its own signed checkpoints). Shards that cannot be reached or verified are recorded as missing
or unverified and reconstructed when they come back.

Usage: agdr coordinator (--shards SHARDS | --shards-file FILE) --data DIR --trust FILE
                        --routing FILE [options]

Options:
  --shards SHARDS       the shards: URL,URL,... (ids 0,1,... in order), ID=URL,ID=URL,...,
                        or one URL template with {i} for the shard id
                        (e.g. http://agdr-shard-{i}.agdr-shard.ns.svc:7070)
  --shards-file FILE    the shards as JSON {"shards": [{"id": 0, "url": URL}, ...]}, re-read
                        when it changes (the operator writes it from the shard pods' IPs)
  --data DIR            global log directory (created if missing)
  --trust FILE          trust bundle JSON (verifier keys of the shards); re-read on change
  --routing FILE        routing epoch table JSON; re-read on change
  --key FILE            coordinator Ed25519 key file with --signer file (created with
                        mode 0600 if missing; default: DIR/coordinator.key)
  --interval DURATION   aggregation interval, 1s or more (default 60s)
  --publish-url URL     POST every new global checkpoint (text/plain note) here; retried
  --namespace NAME      namespace part of the log origins (default: default)
  --cluster NAME        cluster part of the log origins (default: local)
  --host ADDR           listen address (default: 127.0.0.1)
  --port PORT           listen port (default: 7070; 0 picks a free one)
  --concurrency N       shards fetched at once (default: 64)
  --shard-timeout DUR   per-shard time limit in a round (default: 5s; every fetch also ends
                        by the round's deadline: the interval less 2s, or less 20% under 10s)
  --json                print one JSON line {"url", "origin", "verifier_key"} on stdout once
                        listening
  --log-level LEVEL     pino level: trace, debug, info, warn, error, fatal, silent
                        (default: info)
  -h, --help            this text

${browserFlagsHelp('coordinator')}
Signing key (a Vault transit key signs without its private half ever leaving Vault):
${SIGNER_FLAGS_HELP}
API: GET /v1/global-roots, /v1/global-roots/latest, /v1/global-roots/:id, /v1/checkpoint,
/v1/checkpoints?size=N, /v1/proofs/inclusion, /v1/proofs/consistency, /v1/records/:index,
/v1/sealed?shard=&size=, /v1/missing, /v1/keys, /v1/routing, /v1/routing-tables/:hash,
/v1/shards, /healthz, /readyz, /metrics (see docs/API.md).
`;

const options = {
  shards: { type: 'string' },
  'shards-file': { type: 'string' },
  data: { type: 'string' },
  trust: { type: 'string' },
  routing: { type: 'string' },
  key: { type: 'string' },
  interval: { type: 'string', default: '60s' },
  'publish-url': { type: 'string' },
  namespace: { type: 'string', default: 'default' },
  cluster: { type: 'string', default: 'local' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '7070' },
  concurrency: { type: 'string', default: '64' },
  'shard-timeout': { type: 'string', default: '5s' },
  'log-level': { type: 'string', default: 'info' },
  json: { type: 'boolean', default: false },
  ...BROWSER_FLAG_OPTIONS,
  ...SIGNER_FLAG_OPTIONS,
} as const;

/** What `agdr coordinator` runs with: the coordinator's config less what run() creates. */
export interface CoordinatorCommandConfig extends Omit<
  CoordinatorConfig,
  'signer' | 'logger' | 'onSealed' | 'readerFor' | 'clockNs'
> {
  /** Where the signing key lives. */
  signer: SignerFlags;
  /** The coordinator key file with --signer file (created if missing). */
  keyFile: string;
  logLevel: string;
  json: boolean;
}

export const command = defineCommand({
  name: 'coordinator',
  summary: 'run the Root Merkle Coordinator',
  help,
  options,
  configure(flags): CoordinatorCommandConfig {
    const given = required(flags, 'data', 'trust', 'routing');
    if ((flags.shards === undefined) === (flags['shards-file'] === undefined))
      throw new UsageError('give one of --shards and --shards-file');
    const intervalMs = parseDuration(flags.interval, '--interval');
    if (intervalMs < 1000) throw new UsageError('--interval: must be at least 1s');
    const publishUrl = flags['publish-url'];
    if (publishUrl !== undefined) parseHttpUrl(publishUrl, '--publish-url');
    const dataDir = path.resolve(given.data);
    return {
      namespace: flags.namespace,
      cluster: flags.cluster,
      dataDir,
      shards: flags.shards === undefined ? { kind: 'list', shards: [] } : shardsFlag(flags.shards),
      ...(flags['shards-file'] !== undefined
        ? { shardsFile: path.resolve(flags['shards-file']) }
        : {}),
      intervalMs,
      trustFile: path.resolve(given.trust),
      routingFile: path.resolve(given.routing),
      ...(publishUrl !== undefined ? { publishUrl } : {}),
      host: flags.host,
      browsers: parseBrowserFlags(flags),
      port: parsePort(flags.port, '--port'),
      concurrency: parsePositiveInt(flags.concurrency, '--concurrency', 4096),
      shardTimeoutMs: parseDuration(flags['shard-timeout'], '--shard-timeout'),
      signer: parseSignerFlags(flags),
      keyFile: flags.key ?? path.join(dataDir, 'coordinator.key'),
      logLevel: parseLogLevel(flags['log-level']),
      json: flags.json,
    };
  },
  async run({ signer: signerFlags, keyFile, logLevel, json, ...config }) {
    countExternalMemoryInHeapLimit();
    let opened: OpenedSigner | undefined;
    try {
      fs.mkdirSync(config.dataDir, { recursive: true, mode: DIR_MODE });
      // Logs (JSON lines) go to stderr, as the shard's do; stdout is for --json.
      const logger = pino({ level: logLevel, base: { svc: 'coordinator' } }, pino.destination(2));
      const origin = coordinatorOrigin(config.namespace, config.cluster);
      opened = await openSigner(signerFlags, {
        name: origin,
        namespace: config.namespace,
        cluster: config.cluster,
        component: 'coordinator',
        keyFile,
        logger,
      });
      const signer = opened.signer;
      const running = await startCoordinator({ ...config, signer, logger });
      process.stderr.write(`agdr coordinator: listening on ${running.url}\n`);
      if (json) {
        const key = coordinatorKeyEntry(signer).verifier_key;
        process.stdout.write(
          JSON.stringify({ url: running.url, origin, verifier_key: key }) + '\n',
        );
      }
      const outcome = await Promise.race([waitForSignal(), running.failed]);
      if (outcome instanceof Error) {
        process.stderr.write(`agdr coordinator: stopped: ${outcome.message}; restart to recover\n`);
        await running
          .close()
          .catch((err: unknown) => logger.error({ err: String(err) }, 'close failed'));
        return 1;
      }
      logger.info('shutting down');
      await running.close();
      return 0;
    } catch (err) {
      process.stderr.write(`agdr coordinator: ${failureMessage(err)}\n`);
      return 1;
    } finally {
      await opened?.close();
    }
  },
});
