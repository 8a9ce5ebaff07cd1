// `agdr submit`: stream decisions (NDJSON) to the shards they route to, on the client library.
import fs from 'node:fs';
import v8 from 'node:v8';
import type { Readable } from 'node:stream';
import { defineCommand, UsageError } from './command.ts';
import { parseDuration, parseHttpUrl, parsePositiveInt, shardsFlag } from './client/duration.ts';
import { LineNumbers, readLineBatches, readLines } from './client/lines.ts';
import type { InputLine } from './client/lines.ts';
import { SubmitMeter } from './client/submit-report.ts';
import { AgdrClient } from '../client/index.ts';
import type { AgdrClientOptions, SubmitProblem } from '../client/index.ts';
import type { ShardDirectory } from '../clients/shard-endpoints.ts';
import { tokenFile } from '../clients/bearer-token.ts';
import { reasonOf } from '../core/errors.ts';
import { validateEpochTable } from '../core/routing.ts';
import type { EpochTable } from '../core/routing.ts';
import { DEFAULT_DECISION_LIMITS } from '../core/decision.ts';

const help = `agdr submit — send decisions to the shards they route to

Reads NDJSON (one AgDR v0.2 record per line, as the upstream SDK writes it with
json.dumps, or any JSON layout) from FILE, or stdin when FILE is - or absent, line by line
as it arrives: a file of any size, a pipe, or 'tail -f' that never ends. Each line is
validated, routed with the routing epoch table (its key pointers, e.g. /entity_id,
/ctx/entity_id, /record_id) and sent in NDJSON batches of canonical lines to its shard's
/v1/decisions:batch (integers keep every digit). A shard acknowledges a batch only once it is
durable. Invalid lines are reported (line number and field path) and skipped; the rest go on.
Shards that are down, overloaded or restarting are retried with backoff; a routing change
(421, a new routing table) reloads the table and routes again. Nothing is retried into a
duplicate: a record_id is acknowledged once.

Usage: agdr submit [FILE|-] --coordinator URL [options]
       agdr submit [FILE|-] --shards URL,URL,... [--routing FILE] [options]

Options:
  --coordinator URL   take the routing table and shard URLs from the coordinator
  --shards LIST       shard URLs (URL,URL,... or ID=URL,...), instead of --coordinator
  --routing FILE      routing epoch table JSON (default: the coordinator's, or shard 0's)
  --validate-first    validate every line before sending any (nothing is sent if one is
                      invalid); a FILE is read twice, stdin is held in memory
  --batch N           decisions per request at most (default: 2000)
  --concurrency N     requests in flight per shard (default: 2)
  --linger DURATION   how long a decision waits for company before its batch goes (default: 5ms)
  --max-inflight-mb N decisions read and not yet acknowledged, in MiB at most (default: 32)
  --timeout DURATION  per-request time limit (default: 60s)
  --token-file FILE   send the bearer token in FILE to the shards (read anew for every
                      request, so a rotated token is picked up)
  --retry-for DURATION how long a decision is retried while its shard is unavailable
                      (default: 2m)
  --json              print each receipt as one JSON line on stdout, with its input "line"
  -h, --help          this text

Every refused line is reported on stderr: 'line N: PATH: MESSAGE' for invalid input,
'line N: CODE: MESSAGE' for a refusal by a shard (record_id_conflict, shard_retired) or a
shard that stayed unavailable. Progress goes to stderr when it is a terminal.

Exit status: 0 when every decision was acknowledged; 2 when some line was invalid (with
--validate-first: nothing was sent) or on bad usage; 1 when some valid decision was not
acknowledged (refused by its shard, or its shard unavailable).
`;

const options = {
  coordinator: { type: 'string' },
  shards: { type: 'string' },
  routing: { type: 'string' },
  'validate-first': { type: 'boolean', default: false },
  batch: { type: 'string', default: '2000' },
  concurrency: { type: 'string', default: '2' },
  linger: { type: 'string', default: '5ms' },
  'max-inflight-mb': { type: 'string', default: '32' },
  timeout: { type: 'string', default: '60s' },
  'token-file': { type: 'string' },
  'retry-for': { type: 'string', default: '2m' },
  json: { type: 'boolean', default: false },
} as const;

export interface SubmitConfig {
  /** The input file; '-' is stdin. */
  file: string;
  /** Where the shards and the routing table come from: exactly one of the two. */
  coordinator: string | undefined;
  shards: ShardDirectory | undefined;
  /** A routing table file to use instead of the one in force. */
  routingFile: string | undefined;
  validateFirst: boolean;
  batchSize: number;
  concurrency: number;
  lingerMs: number;
  maxInFlightBytes: number;
  timeoutMs: number;
  retryForMs: number;
  /** A file holding the bearer token for the shards. */
  tokenFile: string | undefined;
  json: boolean;
}

export const command = defineCommand({
  name: 'submit',
  summary: 'send decisions to the shards they route to',
  help,
  options,
  positionals: true,
  configure(flags, positionals): SubmitConfig {
    if (positionals.length > 1) throw new UsageError('at most one input FILE');
    if ((flags.coordinator === undefined) === (flags.shards === undefined)) {
      throw new UsageError('give exactly one of --coordinator URL or --shards LIST');
    }
    return {
      file: positionals[0] ?? '-',
      coordinator:
        flags.coordinator === undefined
          ? undefined
          : parseHttpUrl(flags.coordinator, '--coordinator'),
      shards: flags.shards === undefined ? undefined : shardsFlag(flags.shards),
      routingFile: flags.routing,
      validateFirst: flags['validate-first'],
      batchSize: parsePositiveInt(flags.batch, '--batch', 20_000),
      concurrency: parsePositiveInt(flags.concurrency, '--concurrency', 256),
      lingerMs: flags.linger === '0' ? 0 : parseDuration(flags.linger, '--linger'),
      maxInFlightBytes:
        parsePositiveInt(flags['max-inflight-mb'], '--max-inflight-mb', 65_536) * 1024 * 1024,
      timeoutMs: parseDuration(flags.timeout, '--timeout'),
      retryForMs: parseDuration(flags['retry-for'], '--retry-for'),
      tokenFile: flags['token-file'],
      json: flags.json,
    };
  },
  async run(config) {
    keepMemoryFlat();
    const table = config.routingFile === undefined ? undefined : readTable(config.routingFile);
    const opened = await openInput(config.file);
    if (opened === undefined) return 2;
    const client = new AgdrClient(clientOptions(config, table));
    try {
      await client.ready();
    } catch (err) {
      opened.destroy();
      process.stderr.write(
        `agdr submit: cannot get the routing table or shard list: ${reasonOf(err)}\n`,
      );
      return 1;
    }
    const meter = new SubmitMeter(process.stderr, config.json ? process.stdout : undefined);
    let lines: AsyncIterable<InputLine[]> = readLineBatches(
      opened,
      DEFAULT_DECISION_LIMITS.maxInputBytes,
    );
    if (config.validateFirst) {
      const checked = await validateFirst(client, opened, config.file);
      if (checked === undefined) return 2;
      lines = checked;
    }
    const lineNumbers = new LineNumbers();
    // A read chunk's lines go to the client as one group, and its outcomes come back in
    // arrays: no asynchronous step per line.
    async function* decisions(): AsyncGenerator<Buffer[]> {
      let index = 0;
      for await (const batch of lines) {
        const group: Buffer[] = [];
        for (const l of batch) {
          meter.read();
          if (l.bytes === undefined) {
            meter.invalid(l.line, [tooLong(l.size)]);
            continue;
          }
          lineNumbers.add(index++, l.line);
          group.push(l.bytes);
        }
        yield group;
      }
    }
    try {
      for await (const settled of client.submitGroups(decisions())) {
        for (const o of settled) {
          const line = lineNumbers.lineOf(o.index);
          if (o.ok) meter.acknowledged(line, o.receipt);
          else if (o.error.code === 'invalid_decision') meter.invalid(line, o.error.problems);
          else meter.refused(line, o.error);
        }
      }
    } catch (err) {
      meter.finish();
      process.stderr.write(
        `agdr submit: cannot read ${inputName(config.file)}: ${reasonOf(err)}\n`,
      );
      return 1;
    }
    return meter.finish();
  },
});

/**
 * Keeps a long stream's memory flat. Decisions live from being read until they are
 * acknowledged, past several young-generation collections, and V8 answers such survival by
 * growing the young generation to its maximum (two 64 MiB semi-spaces on a machine with much
 * memory) and by letting the old generation grow to several times its live size before it is
 * collected; so a stream whose live set is its in-flight budget (32 MiB) reached 250-500 MiB.
 * Here the young generation keeps its size, and the old one is collected once it has grown
 * 20% past what was live after the last collection (docs/PERFORMANCE.md, "Client": 146 against
 * 251 MiB). V8 reads both flags when it sizes its spaces, so setting them after start-up
 * takes effect.
 */
function keepMemoryFlat(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=20');
}

function clientOptions(config: SubmitConfig, table: EpochTable | undefined): AgdrClientOptions {
  const dir = config.shards;
  return {
    ...(config.coordinator !== undefined
      ? { coordinator: config.coordinator }
      : {
          shards: dir?.kind === 'template' ? dir.template : dir?.kind === 'list' ? dir.shards : [],
        }),
    routing: table,
    lingerMs: config.lingerMs,
    maxBatchDecisions: config.batchSize,
    requestsPerShard: config.concurrency,
    maxInFlightBytes: config.maxInFlightBytes,
    timeoutMs: config.timeoutMs,
    retryForMs: config.retryForMs,
    token: config.tokenFile === undefined ? undefined : tokenFile(config.tokenFile),
  };
}

function inputName(file: string): string {
  return file === '-' ? 'stdin' : file;
}

/** The input as a stream, or undefined (after saying why) when it cannot be opened. */
async function openInput(file: string): Promise<Readable | undefined> {
  if (file === '-') {
    // Reading a terminal waits for the person to type: say so, so it does not look like a hang.
    if (process.stdin.isTTY)
      process.stderr.write('agdr submit: reading NDJSON decisions from stdin (end with Ctrl-D)\n');
    return process.stdin;
  }
  try {
    const handle = await fs.promises.open(file, 'r');
    return handle.createReadStream({ highWaterMark: 256 * 1024 });
  } catch (err) {
    process.stderr.write(`agdr submit: cannot read ${file}: ${reasonOf(err)}\n`);
    return undefined;
  }
}

/**
 * --validate-first: every line is checked before any is sent. A file is read again for
 * sending; stdin cannot be, so its lines are kept in memory. Undefined when a line is invalid.
 */
async function validateFirst(
  client: AgdrClient,
  input: Readable,
  file: string,
): Promise<AsyncIterable<InputLine[]> | undefined> {
  const kept: InputLine[] = [];
  const problems: string[] = [];
  for await (const l of readLines(input, DEFAULT_DECISION_LIMITS.maxInputBytes)) {
    const found = l.bytes === undefined ? [tooLong(l.size)] : problemsOf(client, l.bytes);
    for (const p of found) problems.push(`line ${l.line}: ${p.path}: ${p.message}`);
    if (file === '-') kept.push(l);
  }
  if (problems.length > 0) {
    process.stderr.write(`agdr submit: nothing sent; ${problems.length} problem(s):\n`);
    for (const p of problems.slice(0, 50)) process.stderr.write(`  ${p}\n`);
    if (problems.length > 50) process.stderr.write(`  ... and ${problems.length - 50} more\n`);
    return undefined;
  }
  if (file === '-') return toAsync([kept]);
  const again = await openInput(file);
  if (again === undefined) return undefined;
  return readLineBatches(again, DEFAULT_DECISION_LIMITS.maxInputBytes);
}

function problemsOf(client: AgdrClient, bytes: Buffer): SubmitProblem[] {
  const r = client.check(bytes);
  return r.ok ? [] : r.problems;
}

async function* toAsync<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

function tooLong(size: number): SubmitProblem {
  return {
    path: '$',
    code: 'too_large',
    message: `line is ${size} bytes; the limit is ${DEFAULT_DECISION_LIMITS.maxInputBytes}`,
  };
}

/** The --routing file; a UsageError naming the file if it is unreadable or not a table. */
function readTable(file: string): EpochTable {
  try {
    return validateEpochTable(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (err) {
    throw new UsageError(`--routing ${file}: ${reasonOf(err)}`);
  }
}
