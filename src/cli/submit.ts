// `agdr submit`: send decisions (NDJSON) to the shards they route to, in batches.
import fs from 'node:fs';
import { utf8 } from '../core/bytes.ts';
import { defineCommand, UsageError } from './command.ts';
import { parseDuration, parseHttpUrl, parsePositiveInt, shardsFlag } from './client/duration.ts';
import { CoordinatorClient, shardUrls } from '../clients/coordinator-api.ts';
import { ShardClient } from '../clients/shard-api.ts';
import type { ShardReceipt } from '../clients/shard-api.ts';
import { shardUrl } from '../clients/shard-endpoints.ts';
import type { ShardDirectory } from '../clients/shard-endpoints.ts';
import { reasonOf } from '../core/errors.ts';
import { mapPool } from '../clients/pool.ts';
import { route, routingSourceOf, validateEpochTable } from '../core/routing.ts';
import type { EpochTable } from '../core/routing.ts';
import { parseDecisionText } from '../core/decision.ts';

const help = `agdr submit — send decisions to the shards they route to

Reads NDJSON (one AgDR v0.2 record per line, as the upstream SDK writes it with
json.dumps, or any JSON layout) from FILE, or stdin when FILE is - or absent. Validates
every line first (nothing is sent if any line is invalid), routes each decision with the
routing epoch table (its key pointers, e.g. /entity_id, /ctx/entity_id, /record_id), and
posts NDJSON batches of canonical lines to each shard's /v1/decisions:batch (integers keep
every digit). A shard acknowledges a batch only once it is durable.

Usage: agdr submit [FILE|-] --coordinator URL [options]
       agdr submit [FILE|-] --shards URL,URL,... [--routing FILE] [options]

Options:
  --coordinator URL   take the routing table and shard URLs from the coordinator
  --shards LIST       shard URLs (URL,URL,... or ID=URL,...), instead of --coordinator
  --routing FILE      routing epoch table JSON (default: the coordinator's, or shard 0's)
  --batch N           decisions per request (default: 1000)
  --concurrency N     requests in flight (default: 4)
  --timeout DURATION  per-request time limit (default: 60s)
  --json              print each receipt as one JSON line on stdout
  -h, --help          this text

Exit status: 0 when every decision was acknowledged, 1 when some batch failed, 2 on bad
input (with the line number and field path of every problem).
`;

interface Batch {
  shard: number;
  lines: { line: number; text: string }[];
}

const options = {
  coordinator: { type: 'string' },
  shards: { type: 'string' },
  routing: { type: 'string' },
  batch: { type: 'string', default: '1000' },
  concurrency: { type: 'string', default: '4' },
  timeout: { type: 'string', default: '60s' },
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
  batchSize: number;
  concurrency: number;
  timeoutMs: number;
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
      batchSize: parsePositiveInt(flags.batch, '--batch', 100_000),
      concurrency: parsePositiveInt(flags.concurrency, '--concurrency', 256),
      timeoutMs: parseDuration(flags.timeout, '--timeout'),
      json: flags.json,
    };
  },
  async run(config) {
    const { file, batchSize, concurrency, timeoutMs } = config;
    const shardDir = config.shards;
    const fileTable = config.routingFile === undefined ? undefined : readTable(config.routingFile);
    // Reading a terminal waits for the person to type: say so, so it does not look like a hang.
    if (file === '-' && process.stdin.isTTY)
      process.stderr.write('agdr submit: reading NDJSON decisions from stdin (end with Ctrl-D)\n');
    const input = file === '-' ? fs.readFileSync(0, 'utf8') : readInput(file);
    if (input === undefined) return 2;

    // Where the shards are, and the routing table.
    let table: EpochTable;
    let urlOf: (id: number) => string | undefined;
    try {
      if (config.coordinator !== undefined) {
        const coordinator = new CoordinatorClient(config.coordinator, timeoutMs);
        const urls = await shardUrls(coordinator);
        urlOf = (id) => urls.get(id);
        table = fileTable ?? validateEpochTable(await coordinator.routing());
      } else {
        const dir = shardDir as ShardDirectory;
        urlOf = (id) => shardUrl(dir, id);
        const first = urlOf(0) ?? (dir.kind === 'list' ? dir.shards[0]?.url : undefined);
        table =
          fileTable ??
          validateEpochTable(await new ShardClient(first as string, timeoutMs).routing());
      }
    } catch (err) {
      process.stderr.write(
        `agdr submit: cannot get the routing table or shard list: ${reasonOf(err)}\n`,
      );
      return 1;
    }

    // Validate and route every line before sending anything.
    const byShard = new Map<number, { line: number; text: string }[]>();
    const problems: string[] = [];
    let count = 0;
    input.split('\n').forEach((raw, i) => {
      const text = raw.trim();
      if (text === '') return;
      const line = i + 1;
      const result = parseDecisionText(text);
      if (!result.ok) {
        for (const p of result.problems) problems.push(`line ${line}: ${p.path}: ${p.message}`);
        return;
      }
      let shard: number;
      try {
        shard = route(routingSourceOf(result.prepared.decision), table).shard;
      } catch (err) {
        problems.push(`line ${line}: routing: ${reasonOf(err)}`);
        return;
      }
      if (urlOf(shard) === undefined) {
        problems.push(`line ${line}: routes to shard ${shard}, whose URL is unknown`);
        return;
      }
      let list = byShard.get(shard);
      if (list === undefined) byShard.set(shard, (list = []));
      // Canonical lines are stored byte for byte by the shard, without re-serialization.
      list.push({ line, text: utf8.decode(result.prepared.canonical) });
      count++;
    });
    if (problems.length > 0) {
      process.stderr.write(`agdr submit: nothing sent; ${problems.length} problem(s):\n`);
      for (const p of problems.slice(0, 50)) process.stderr.write(`  ${p}\n`);
      if (problems.length > 50) process.stderr.write(`  ... and ${problems.length - 50} more\n`);
      return 2;
    }
    if (count === 0) {
      process.stderr.write('agdr submit: no decisions in the input\n');
      return 2;
    }

    const batches: Batch[] = [];
    for (const [shard, lines] of [...byShard.entries()].sort(([a], [b]) => a - b)) {
      for (let i = 0; i < lines.length; i += batchSize)
        batches.push({ shard, lines: lines.slice(i, i + batchSize) });
    }
    const clients = new Map<number, ShardClient>();
    const results = await mapPool(
      batches,
      async (b) => {
        let client = clients.get(b.shard);
        if (client === undefined)
          clients.set(b.shard, (client = new ShardClient(urlOf(b.shard) as string, timeoutMs)));
        return client.submitBatch(b.lines.map((l) => l.text).join('\n') + '\n');
      },
      { concurrency, itemTimeoutMs: timeoutMs, deadlineMs: Number.MAX_SAFE_INTEGER, now: Date.now },
    );
    let acked = 0;
    let failed = 0;
    const perShard = new Map<number, number>();
    results.forEach((r, i) => {
      const b = batches[i] as Batch;
      if (r.ok) {
        acked += r.value.length;
        perShard.set(b.shard, (perShard.get(b.shard) ?? 0) + r.value.length);
        if (config.json)
          for (const receipt of r.value)
            process.stdout.write(JSON.stringify(receipt satisfies ShardReceipt) + '\n');
      } else {
        failed += b.lines.length;
        const first = b.lines[0]?.line ?? 0;
        const last = b.lines[b.lines.length - 1]?.line ?? 0;
        process.stderr.write(
          `agdr submit: shard ${b.shard}: batch of lines ${first}..${last} failed: ${r.reason}\n`,
        );
      }
    });
    const summary = [...perShard.entries()].map(([s, n]) => `shard ${s}: ${n}`).join(', ');
    process.stderr.write(
      `agdr submit: ${acked} of ${count} decisions acknowledged (durable)${summary ? ` — ${summary}` : ''}` +
        (failed > 0 ? `; ${failed} failed` : '') +
        '\n',
    );
    return failed > 0 ? 1 : 0;
  },
});

function readInput(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    process.stderr.write(`agdr submit: cannot read ${file}: ${reasonOf(err)}\n`);
    return undefined;
  }
}

/** The --routing file; a UsageError naming the file if it is unreadable or not a table. */
function readTable(file: string): EpochTable {
  try {
    return validateEpochTable(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (err) {
    throw new UsageError(`--routing ${file}: ${reasonOf(err)}`);
  }
}
