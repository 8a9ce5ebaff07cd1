// Runs xverify (tools/xverify), the Go verifier built on transparency-dev/merkle,
// golang.org/x/mod/sumdb/note and transparency-dev/formats, on cases made by the project's
// TypeScript code. The binary is built by tools/xverify/build.sh (cached outside the repo).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const BUILD = path.join(ROOT, 'tools/xverify/build.sh');

interface CaseBase {
  readonly id: string;
  /** Whether the Go side must accept the case. */
  readonly expect: boolean;
}

export interface InclusionCase extends CaseBase {
  readonly kind: 'inclusion';
  readonly index: number;
  readonly size: number;
  readonly leaf_hash: string;
  /** The leaf's data: Go checks that its leaf hash is leaf_hash. */
  readonly entry?: string;
  readonly proof: readonly string[];
  readonly root: string;
}

export interface ConsistencyCase extends CaseBase {
  readonly kind: 'consistency';
  readonly size1: number;
  readonly size2: number;
  readonly proof: readonly string[];
  readonly root1: string;
  readonly root2: string;
}

export interface PlanCase extends CaseBase {
  readonly kind: 'inclusion_plan' | 'consistency_plan';
  readonly index?: number;
  readonly size?: number;
  readonly size1?: number;
  readonly size2?: number;
  readonly nodes: readonly { level: number; index: number }[];
  readonly ephemeral: { begin: number; end: number } | null;
}

export interface RootsCase extends CaseBase {
  readonly kind: 'roots';
  /** Leaf data, hex. */
  readonly entries: readonly string[];
  /** Increasing sizes; frontier (compact range hashes, left to right) optional. */
  readonly roots: readonly { size: number; root: string; frontier?: readonly string[] }[];
}

export interface CheckpointCase extends CaseBase {
  readonly kind: 'checkpoint';
  readonly note: string;
  /** The log's verifier key first. */
  readonly verifier_keys: readonly string[];
  readonly origin: string;
  readonly size: number;
  readonly root?: string;
  /** The text after the root line, verbatim. */
  readonly extensions?: string;
}

export interface SignCase extends CaseBase {
  readonly kind: 'sign';
  readonly text: string;
  readonly name: string;
  readonly seed: string;
  /** The note Go must produce by signing `text` with `seed` under `name`. */
  readonly note: string;
  readonly verifier_key?: string;
}

export type XCase =
  InclusionCase | ConsistencyCase | PlanCase | RootsCase | CheckpointCase | SignCase;

export interface XResult {
  readonly id: string;
  readonly ok: boolean;
  readonly error?: string;
}

/**
 * The path of the xverify binary, building it when it is not cached. Throws with the build
 * output when Go is missing or the build fails: the cross-check never silently skips.
 */
export function xverifyBinary(): string {
  const r = spawnSync('bash', [BUILD], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    throw new Error(
      `tools/xverify/build.sh failed (status ${r.status}, ${r.error?.message ?? 'no spawn error'}); ` +
        `the independent Go verifier needs Go (on PATH or /usr/local/go/bin/go) and the Go module proxy:\n${r.stderr}`,
    );
  }
  const bin = r.stdout.trim().split('\n').pop();
  if (bin === undefined || bin === '') throw new Error('tools/xverify/build.sh printed no path');
  return bin;
}

export interface XRun {
  readonly results: Map<string, XResult>;
  readonly exitCode: number | null;
  readonly stderr: string;
}

/** Feeds the cases to xverify as NDJSON and collects its per-case results. */
export async function runXverify(bin: string, cases: readonly XCase[]): Promise<XRun> {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(cases.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const exitCode = await exited;
  const results = new Map<string, XResult>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as XResult;
    if (results.has(r.id)) throw new Error(`xverify answered case ${r.id} twice`);
    results.set(r.id, r);
  }
  return { results, exitCode, stderr: err };
}

export interface Disagreement {
  readonly id: string;
  readonly expect: boolean;
  readonly go: boolean | 'missing';
  readonly error?: string;
}

/** Cases whose Go result differs from `expect` (or that Go did not answer). */
export function disagreements(cases: readonly XCase[], run: XRun): Disagreement[] {
  const out: Disagreement[] = [];
  for (const c of cases) {
    const r = run.results.get(c.id);
    if (r === undefined) out.push({ id: c.id, expect: c.expect, go: 'missing' });
    else if (r.ok !== c.expect)
      out.push({
        id: c.id,
        expect: c.expect,
        go: r.ok,
        ...(r.error !== undefined ? { error: r.error } : {}),
      });
  }
  return out;
}
