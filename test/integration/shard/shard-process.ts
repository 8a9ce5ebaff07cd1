// Real `agdr shard` processes on 127.0.0.1 for tests and benchmarks: spawn one, wait for its
// --json line, talk HTTP to it, stop it with SIGTERM or kill it with SIGKILL. Also deterministic
// valid decisions of a chosen size and routing files.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifyCheckpoint, type Checkpoint } from '../../../src/core/checkpoint.ts';
import { routeDecision, type EpochTable } from '../../../src/core/routing.ts';
import { recordLine, recordsNdjson, upstreamRecord } from '../../fixtures/records.ts';
import { initialEpochTable } from '../../../src/cli/client/local-cluster.ts';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
const AGDR = path.join(ROOT, 'src/cli/agdr.ts');

export interface ShardProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly info: {
    url: string;
    shard_id: number;
    origin: string;
    verifier_key: string;
    size: number;
  };
  stderr(): string;
  /** Exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM and wait: the graceful path. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<number | null>;
}

export interface ShardProcessOptions {
  dataDir: string;
  shardId: number;
  routingFile: string;
  args?: string[];
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Spawns `agdr shard --json --port 0 ...`, tracking stderr and the exit code. */
function spawnShard(o: ShardProcessOptions): {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const args = ['shard', '--data', o.dataDir, '--shard-id', String(o.shardId)];
  args.push('--routing', o.routingFile, '--port', '0', '--json', '--log-level', 'warn');
  const child = spawn(process.execPath, [AGDR, ...args, ...(o.args ?? [])], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      // A shard ended by a signal it was not sent (a crash), or by SIGTERM (its handler was not
      // in place): a test then sees only a null exit code, so say which signal and what it logged.
      if (signal !== null && signal !== 'SIGKILL')
        process.stderr.write(
          `agdr shard (pid ${child.pid}) ended by ${signal}; its stderr ends:\n${err.slice(-3000)}\n`,
        );
      resolve(code);
    }),
  );
  return { child, stderr: () => err, exited };
}

/** Starts `agdr shard --json --port 0` and resolves once it printed its URL. */
export function startShardProcess(o: ShardProcessOptions): Promise<ShardProcess> {
  const { child, stderr, exited } = spawnShard(o);
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const info = JSON.parse(out.slice(0, nl)) as ShardProcess['info'];
      const signal = async (sig: NodeJS.Signals): Promise<number | null> => {
        if (child.exitCode === null && child.signalCode === null) child.kill(sig);
        return exited;
      };
      resolve({
        url: info.url,
        child,
        info,
        stderr,
        exited,
        stop: () => signal('SIGTERM'),
        kill: () => signal('SIGKILL'),
      });
    });
    void exited.then((code) =>
      reject(new Error(`agdr shard exited (${code}) before listening: ${stderr().slice(-3000)}`)),
    );
  });
}

/** Runs `agdr shard` expecting it to exit (e.g. refusing a corrupt log); returns code and stderr. */
export async function runShardExpectingExit(
  o: ShardProcessOptions,
): Promise<{ code: number | null; stderr: string }> {
  const { child, stderr, exited } = spawnShard(o);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, stderr: stderr() };
}

/** The shard's latest checkpoint, verified with its key, once it covers at least `min` records. */
export function signedCheckpoint(
  shard: ShardProcess,
  min: number,
): Promise<{ cp: Checkpoint; note: string }> {
  return waitFor(
    async () => {
      const note = (await request<string>(`${shard.url}/v1/checkpoint`)).text;
      const cp = verifyCheckpoint(note, [shard.info.verifier_key], shard.info.origin);
      return cp.size >= min ? { cp, note } : undefined;
    },
    10_000,
    `a checkpoint of >= ${min} records`,
  );
}

const dirs: string[] = [];
export function tempDir(prefix = 'agdr-shard-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** One epoch from t=0: hash-by-entity over `shards` shards with jump hashing (as `agdr local`). */
export const epochTable = initialEpochTable;

export function writeRouting(dir: string, table: EpochTable): string {
  const file = path.join(dir, 'routing.json');
  fs.writeFileSync(file, JSON.stringify(table));
  return file;
}

const BASE_TS = 1_773_532_800_000_000_000n;

/** The smallest record this generator makes is about this long (canonical JSON). */
export const MIN_DECISION_BYTES = 940;

/**
 * A valid AgDR record shaped as the upstream SDK writes it (all its members, an autonomous
 * chain) whose canonical JSON is `bytes` long (default 1000; never shorter than the ~920 bytes
 * the record takes), unique per (tag, i), for entity `entity` (a top-level entity_id, which
 * hash-by-entity reads first).
 */
export function decision(
  i: number,
  opts: { tag?: string; entity?: string; bytes?: number } = {},
): Record<string, unknown> {
  const d = upstreamRecord(i, {
    id: `${opts.tag ?? 'r'}-${i}`,
    timestampNs: BASE_TS + BigInt(i),
    entity: opts.entity ?? `entity-${i % 1000}`,
    reasoningTrace: '',
  });
  const pad = (opts.bytes ?? 1000) - Buffer.byteLength(recordLine(d));
  d.reasoning_trace = 'x'.repeat(Math.max(0, pad));
  return d;
}

/** Decisions that route to `shard` under `table` (scanning i upward from `from`). */
export function decisionsFor(
  table: EpochTable,
  shard: number,
  count: number,
  opts: { tag?: string; bytes?: number; from?: number } = {},
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = opts.from ?? 0; out.length < count; i++) {
    const d = decision(i, opts);
    if (routeDecision(d, table).shard === shard) out.push(d);
  }
  return out;
}

export function ndjson(decisions: readonly unknown[]): string {
  return recordsNdjson(decisions);
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function request<T = unknown>(
  url: string,
  init: {
    method?: string;
    body?: string | Uint8Array;
    type?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<HttpResult<T>> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.body !== undefined ? { 'content-type': init.type ?? 'application/json' } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T, text };
}

/** Polls `fn` until it returns a value other than undefined (or throws after `ms`). */
export async function waitFor<T>(
  fn: () => Promise<T | undefined>,
  ms = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
