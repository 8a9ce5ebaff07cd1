// Real `agdr` processes on 127.0.0.1 for integration tests: spawn, read their output, wait
// for conditions, and always clean up.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { recordsNdjson, upstreamRecord } from '../../fixtures/records.ts';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
const AGDR = path.join(ROOT, 'src/cli/agdr.ts');

export interface AgdrProcess {
  child: ChildProcess;
  /** Lines printed on stdout so far. */
  lines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves with the first stdout line; rejects if the process exits before printing one. */
  firstLine(): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<AgdrProcess>();

/** `as`: run as another user (only root may), e.g. one without write access to a directory. */
export function spawnAgdr(args: string[], as?: { uid: number; gid: number }): AgdrProcess {
  return spawnCli(AGDR, args, as);
}

/** `agdr` from another entry point: the built CLI of `buildCli`, as users run it. */
export function spawnCli(
  entry: string,
  args: string[],
  as?: { uid: number; gid: number },
): AgdrProcess {
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...as,
  });
  const lines: string[] = [];
  let err = '';
  let buf = '';
  const waiters: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  let exitError: Error | undefined;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (lines.length === 1) for (const w of waiters.splice(0)) w.resolve(lines[0] as string);
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      running.delete(proc);
      exitError = new Error(
        `agdr ${args[0]} exited (${code ?? signal}) before printing: ${err.slice(-2000)}`,
      );
      for (const w of waiters.splice(0)) w.reject(exitError);
      resolve(code);
    });
  });
  const proc: AgdrProcess = {
    child,
    lines,
    stderr: () => err,
    exited,
    firstLine: () =>
      new Promise<string>((resolve, reject) => {
        if (lines.length > 0) resolve(lines[0] as string);
        else if (exitError !== undefined) reject(exitError);
        else waiters.push({ resolve, reject });
      }),
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  running.add(proc);
  return proc;
}

/** Kills every process still running (afterAll / afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
}

export async function runAgdr(
  args: string[],
  input?: string,
  as?: { uid: number; gid: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnAgdr(args, as);
  if (input !== undefined) p.child.stdin?.end(input);
  else p.child.stdin?.end();
  const code = await p.exited;
  return { code, stdout: p.lines.join('\n'), stderr: p.stderr() };
}

/**
 * Builds the package's JavaScript into `dir` as `npm run build` does (tsc with
 * tsconfig.build.json; types are checked by `npm run typecheck`, not again here) and returns
 * the CLI's entry point, for tests that measure the process users run (node strips types from
 * the sources itself, which costs ~30 MiB of resident memory that the built CLI does not have).
 */
export async function buildCli(dir: string): Promise<string> {
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const args = ['-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', dir, '--noCheck'];
  const child = spawn(process.execPath, [tsc, ...args], { cwd: ROOT, stdio: 'pipe' });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`tsc -p tsconfig.build.json exited ${code}: ${out}`);
  // Outside the checkout: its packages through a link, and ES modules as in package.json.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
  return path.join(dir, 'cli/agdr.js');
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `agdr-${prefix}-`));
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * Starts a server command with `--json` (shard, coordinator) and waits for its first line,
 * `{"url": ...}`. Pass `--port 0` the first time and the returned port on a restart.
 */
export async function startServer(
  args: string[],
): Promise<{ proc: AgdrProcess; url: string; port: number }> {
  const proc = spawnAgdr([...args, '--json']);
  const { url } = JSON.parse(await proc.firstLine()) as { url: string };
  return { proc, url, port: Number(new URL(url).port) };
}

/** What `agdr local --json` prints on its one line. */
export interface LocalInfo {
  coordinator: string;
  shards: { id: number; url: string }[];
  data: string;
}

/** Starts `agdr local` (1 s global roots, ports picked at run time) and reads its JSON line. */
export async function startLocal(
  dir: string,
  shards: number,
): Promise<{ proc: AgdrProcess; info: LocalInfo }> {
  const proc = spawnAgdr([
    'local',
    '--shards',
    String(shards),
    '--data',
    dir,
    '--port',
    '0',
    '--interval',
    '1s',
    '--json',
  ]);
  return { proc, info: JSON.parse(await proc.firstLine()) as LocalInfo };
}

/** NDJSON of `n` valid upstream-shaped records spread over entities, with unique record ids. */
export function decisions(n: number, tag: string, t0 = 1_700_000_000_000_000_000n): string {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      upstreamRecord(i, {
        id: `${tag}-${i}`,
        timestampNs: t0 + BigInt(i),
        ctx: { entity_id: `entity-${i % 17}` },
        chain: i % 3 === 0 ? 'approved' : i % 3 === 1 ? 'escalated-foi' : 'autonomous',
      }),
    );
  }
  return recordsNdjson(out);
}

/** The files `agdr local --init` writes (keys, routing table, trust bundle) for separate processes. */
export interface ClusterFiles {
  routing: string;
  trust: string;
  shards: { data: string; key: string }[];
  coordinator: { data: string; key: string };
}

export async function initCluster(dir: string, shards: number): Promise<ClusterFiles> {
  const r = await runAgdr(['local', '--init', '--shards', String(shards), '--data', dir]);
  if (r.code !== 0) throw new Error(`agdr local --init failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ClusterFiles;
}

/**
 * Starts `agdr coordinator` over a cluster's files with a 1 s interval on a free port; `extra`
 * flags come last (a later flag wins, so they can override). `shards` is the `--shards` list, or
 * `{ file }` for a `--shards-file` the test rewrites as the operator does.
 */
export function startCoordinatorProcess(
  files: ClusterFiles,
  shards: string | { file: string },
  extra: string[] = [],
): Promise<{ proc: AgdrProcess; url: string; port: number }> {
  return startServer([
    'coordinator',
    ...(typeof shards === 'string' ? ['--shards', shards] : ['--shards-file', shards.file]),
    '--data',
    files.coordinator.data,
    '--key',
    files.coordinator.key,
    '--trust',
    files.trust,
    '--routing',
    files.routing,
    '--interval',
    '1s',
    '--port',
    '0',
    ...extra,
  ]);
}

/** A TCP port free on 127.0.0.1 right now (for a server that must be known before it starts). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * Starts `agdr shard` for shard `id` of a cluster's files on `port` (0: a free one), signing a
 * checkpoint every 200 ms, with the decisions prepared in-process.
 */
export function startShardOf(
  files: ClusterFiles,
  id: number,
  port = 0,
): Promise<{ proc: AgdrProcess; url: string; port: number }> {
  const s = files.shards[id];
  if (s === undefined) throw new RangeError(`the cluster has no shard ${id}`);
  return startServer(
    ['shard', '--data', s.data, '--shard-id', String(id), '--routing', files.routing]
      .concat(['--key', s.key, '--port', String(port)])
      .concat(['--checkpoint-interval', '200ms', '--workers', '0']),
  );
}
