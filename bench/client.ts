// `npm run bench client [--quick]`: `agdr submit` end to end. 1M decisions as the upstream
// SDK's users write them (Python json.dumps: not canonical; the client sends them as written and
// the shards canonicalize) from a file into `agdr local` with 4 shards, timed from the start of
// the `agdr submit` process to its exit (every decision acknowledged, durable). Beside it, in the
// same run and interleaved with it, the shard's own batched figure: `bench/shard-load.ts`
// (12 connections x 3,500-decision NDJSON batches, as the shard suite's http_batch step) into
// one `agdr shard`, with the same records canonical and as the SDK writes them. Each round uses
// a fresh cluster and fresh record ids; every round is reported, and the medians as ratios.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchSuite } from './run.ts';
import { ratio } from './measure.ts';
import { watchProcess } from '../test/fixtures/proc-stats.ts';
import { writeSdkFile } from '../test/fixtures/sdk-file.ts';
import {
  ROOT,
  epochTable,
  startShardProcess,
  writeRouting,
} from '../test/integration/shard/shard-process.ts';

const run$ = promisify(execFile);
const AGDR = path.join(ROOT, 'src/cli/agdr.ts');

/** One `agdr local --shards 4` in `dir`; resolves with its coordinator URL and a stop function. */
async function startLocal(
  dir: string,
): Promise<{ coordinator: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [AGDR, 'local', '--shards', '4', '--data', dir, '--port', '0', '--json'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const exited = once(child, 'exit');
  let out = '';
  child.stdout.setEncoding('utf8');
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: string) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`agdr local exited (${code})`)));
  });
  return {
    coordinator: (JSON.parse(line) as { coordinator: string }).coordinator,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * `agdr submit FILE` into a fresh `agdr local`: decisions/s from process start to exit, the
 * client's peak RSS (VmHWM) and its CPU per decision.
 */
export async function clientRound(
  dir: string,
  file: string,
  n: number,
): Promise<Record<string, number>> {
  const local = await startLocal(dir);
  try {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [AGDR, 'submit', file, '--coordinator', local.coordinator],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const watch = watchProcess(child.pid as number);
    const [code] = (await once(child, 'exit')) as [number | null];
    const use = watch.stop();
    const secs = (performance.now() - t0) / 1000;
    if (code !== 0 || !err.includes(`${n} of ${n} decisions acknowledged`)) {
      throw new Error(`agdr submit failed (${code}): ${err.slice(-1000)}`);
    }
    return {
      decisions_per_s: Math.round(n / secs),
      seconds: Math.round(secs * 100) / 100,
      client_peak_rss_mib: use.peakRssMiB,
      client_cpu_us_per_decision: Math.round((use.cpuSeconds * 1e7) / n) / 10,
      load_avg_1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    };
  } finally {
    await local.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The shard's own batched figure: shard-load.ts into one `agdr shard` (fresh per round). */
async function shardRound(
  dir: string,
  format: 'canonical' | 'sdk',
  secs: number,
  tag: string,
): Promise<number> {
  fs.mkdirSync(dir, { recursive: true });
  const shard = await startShardProcess({
    dataDir: path.join(dir, 'shard'),
    shardId: 0,
    routingFile: writeRouting(dir, epochTable(1)),
  });
  try {
    const { stdout } = await run$(
      process.execPath,
      [
        path.join(ROOT, 'bench/shard-load.ts'),
        shard.url,
        'batch',
        '12',
        String(secs),
        '3500',
        '1000',
        tag,
        format,
      ],
      { cwd: ROOT, maxBuffer: 1 << 20 },
    );
    return Number((JSON.parse(stdout) as { decisions_per_s: number }).decisions_per_s);
  } finally {
    await shard.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

export const run: BenchSuite = async ({ quick }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-bench-client-'));
  try {
    const n = quick ? 50_000 : 1_000_000;
    const roundsWanted = quick ? 1 : 3;
    const secs = quick ? 2 : 8;
    const file = path.join(dir, 'decisions.ndjson');
    const lineBytes = await writeSdkFile(file, n, 'c');
    const rounds: Record<string, number>[] = [];
    for (let i = 0; i < roundsWanted; i++) {
      const canonical = await shardRound(path.join(dir, `s${i}`), 'canonical', secs, `b${i}`);
      const sdk = await shardRound(path.join(dir, `p${i}`), 'sdk', secs, `p${i}`);
      const client = await clientRound(path.join(dir, `l${i}`), file, n);
      rounds.push({
        client_decisions_per_s: client.decisions_per_s as number,
        shard_batch_per_s: canonical,
        shard_batch_sdk_per_s: sdk,
        ratio_to_shard_batch: ratio(client.decisions_per_s as number, canonical),
        ratio_to_shard_batch_sdk: ratio(client.decisions_per_s as number, sdk),
        client_seconds: client.seconds as number,
        client_peak_rss_mib: client.client_peak_rss_mib as number,
        client_cpu_us_per_decision: client.client_cpu_us_per_decision as number,
        load_avg_1m: client.load_avg_1m as number,
      });
      process.stderr.write(`bench: client round ${i}: ${JSON.stringify(rounds[i])}\n`);
    }
    const col = (k: string): number[] => rounds.map((r) => r[k] as number);
    return {
      decisions: n,
      sdk_line_bytes: lineBytes,
      shards: 4,
      median_client_decisions_per_s: median(col('client_decisions_per_s')),
      median_shard_batch_per_s: median(col('shard_batch_per_s')),
      median_shard_batch_sdk_per_s: median(col('shard_batch_sdk_per_s')),
      median_ratio_to_shard_batch: median(col('ratio_to_shard_batch')),
      median_ratio_to_shard_batch_sdk: median(col('ratio_to_shard_batch_sdk')),
      target_ratio_to_shard_batch: 0.5,
      rounds,
      notes:
        'client: `agdr submit FILE --coordinator` of SDK-shaped lines (Python json.dumps) into a fresh `agdr local --shards 4`, wall time from spawning the submit process to its exit (node start-up included; every decision acknowledged durable); shard_batch*: bench/shard-load.ts (12 x 3,500-decision batches, 1000-byte records, canonical or SDK-shaped) into one fresh `agdr shard` for the given seconds; rounds interleave shard, shard-sdk, client; ratios are per round, medians over rounds',
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};
