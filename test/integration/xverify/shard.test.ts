// Independent verification of a real `agdr shard` on 127.0.0.1: the checkpoints, records and
// proofs it serves over HTTP are checked by xverify (Go: transparency-dev/merkle,
// golang.org/x/mod/sumdb/note, transparency-dev/formats). Go recomputes every leaf hash and the
// root at every checkpoint from the stored record bytes the shard returns.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toHex } from '../../../src/core/bytes.ts';
import { parseCheckpoint } from '../../../src/core/checkpoint.ts';
import { parseNote } from '../../../src/core/note.ts';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  startShardProcess,
  tempDir,
  waitFor,
  writeRouting,
  type ShardProcess,
} from '../shard/shard-process.ts';
import { sdkLine } from '../../fixtures/records.ts';
import { checkpointCases, consistencyCases, inclusionCases } from './cases.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';
import { verifierKeyString } from '../../../src/core/note.ts';
import { randomBytes } from 'node:crypto';
import { disagreements, runXverify, xverifyBinary, type XCase, type XRun } from './xverify.ts';

const BATCHES = [60, 1, 97, 64, 2, 80]; // 304 decisions, checkpointed after each batch
const table = epochTable(1);

interface Signed {
  readonly note: string;
  readonly size: number;
  readonly root: string;
}
interface RecordBody {
  seq: number;
  leaf_hash: string;
  envelope_base64: string;
}

let shard: ShardProcess;
let bin: string;
const checkpoints: Signed[] = [];
let records: RecordBody[] = [];
let cases: XCase[];
let run: XRun;

const get = async <T>(p: string): Promise<T> => {
  const res = await request<T>(`${shard.url}${p}`);
  if (res.status !== 200) throw new Error(`GET ${p}: ${res.status} ${res.text}`);
  return res.body;
};

/** The parsed text of a note, without verifying it (Go verifies). */
function signedOf(note: string): Signed {
  const cp = parseCheckpoint(parseNote(note).text);
  return { note, size: cp.size, root: toHex(cp.rootHash) };
}

/** Runs `fn` on every item with at most `limit` in flight. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}

beforeAll(async () => {
  bin = xverifyBinary();
  const dir = tempDir('agdr-xverify-');
  shard = await startShardProcess({
    dataDir: path.join(dir, 'data'),
    shardId: 0,
    routingFile: writeRouting(dir, table),
    args: ['--checkpoint-interval', '50ms'],
  });
  const all = decisionsFor(
    table,
    0,
    BATCHES.reduce((a, b) => a + b, 0),
    { tag: 'xv' },
  );
  let total = 0;
  for (const count of BATCHES) {
    const batch = all.slice(total, total + count);
    total += count;
    const res =
      count === 1
        ? await request(`${shard.url}/v1/decisions`, { body: sdkLine(batch[0]) })
        : await request(`${shard.url}/v1/decisions:batch`, {
            body: ndjson(batch),
            type: 'application/x-ndjson',
          });
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`ingest: ${res.status} ${res.text}`);
    const want = total;
    checkpoints.push(
      await waitFor(
        async () => {
          const s = signedOf((await request<string>(`${shard.url}/v1/checkpoint`)).text);
          return s.size === want ? s : undefined;
        },
        10_000,
        `a checkpoint of size ${want}`,
      ),
    );
  }
  const seqs = Array.from({ length: total }, (_, i) => i);
  records = await mapLimit(seqs, 8, (seq) => get<RecordBody>(`/v1/records/${seq}`));
  cases = await shardCases();
  run = await runXverify(bin, cases);
}, 600_000);

afterAll(async () => {
  await shard?.stop();
  removeTempDirs();
});

async function shardCases(): Promise<XCase[]> {
  const out: XCase[] = [];
  const origin = shard.info.origin;
  const key = shard.info.verifier_key;
  const wrongKey = verifierKeyString(
    origin,
    ed25519SignerFromSeed(origin, randomBytes(32)).publicKey,
  );
  const entry = (seq: number): string => toHex(fromBase64(records[seq]!.envelope_base64));

  // Every checkpoint, as served then and as served from the history now.
  for (const cp of checkpoints) {
    const valid = {
      id: `shard/cp/${cp.size}`,
      note: cp.note,
      verifier_keys: [key],
      origin,
      size: cp.size,
      root: cp.root,
    };
    out.push(...checkpointCases(valid, wrongKey));
    const again = (await request<string>(`${shard.url}/v1/checkpoints?size=${cp.size}`)).text;
    out.push({
      ...valid,
      kind: 'checkpoint',
      expect: true,
      id: `shard/cp-history/${cp.size}`,
      note: again,
    });
  }

  // Go hashes the stored record bytes and must reach each checkpoint's root.
  out.push({
    kind: 'roots',
    id: 'shard/roots',
    expect: true,
    entries: records.map((_, seq) => entry(seq)),
    roots: checkpoints.map((cp) => ({ size: cp.size, root: cp.root })),
  });

  // Inclusion: every record in the latest checkpoint, a few in each earlier one.
  const latest = checkpoints[checkpoints.length - 1]!;
  const pairs: [number, Signed][] = records.map((_, seq) => [seq, latest]);
  for (const cp of checkpoints.slice(0, -1)) {
    for (const seq of new Set([0, cp.size >> 1, cp.size - 1])) pairs.push([seq, cp]);
  }
  const proofs = await mapLimit(pairs, 8, ([seq, cp]) =>
    get<{ leaf_index: number; tree_size: number; hashes: string[] }>(
      `/v1/proofs/inclusion?index=${seq}&size=${cp.size}`,
    ),
  );
  pairs.forEach(([seq, cp], i) => {
    const p = proofs[i]!;
    const valid = {
      id: `shard/incl/${seq}/${cp.size}`,
      index: p.leaf_index,
      size: p.tree_size,
      leaf_hash: records[seq]!.leaf_hash,
      entry: entry(seq),
      proof: p.hashes,
      root: cp.root,
    };
    // Corrupted variants for a sample; the valid proof for all.
    if (seq % 16 === 0 || cp !== latest) out.push(...inclusionCases(valid));
    else out.push({ ...valid, kind: 'inclusion', expect: true });
  });

  // Consistency between every pair of checkpoints (and each with itself).
  for (const [i, a] of checkpoints.entries()) {
    for (const b of checkpoints.slice(i)) {
      const p = await get<{ from: number; to: number; hashes: string[] }>(
        `/v1/proofs/consistency?from=${a.size}&to=${b.size}`,
      );
      out.push(
        ...consistencyCases({
          id: `shard/cons/${a.size}/${b.size}`,
          size1: p.from,
          size2: p.to,
          proof: p.hashes,
          root1: a.root,
          root2: b.root,
        }),
      );
    }
  }
  return out;
}

describe('a real shard, checked by xverify', () => {
  it('serves checkpoints whose signatures, sizes and roots Go verifies from the record bytes', () => {
    expect(run.results.size).toBe(cases.length);
    expect(checkpoints).toHaveLength(BATCHES.length);
    const cp = cases.filter((c) => c.kind === 'checkpoint' || c.kind === 'roots');
    expect(disagreements(cp, run)).toEqual([]);
  });

  it('serves inclusion proofs Go accepts for every record, and Go rejects their corrupted variants', () => {
    const incl = cases.filter((c) => c.kind === 'inclusion');
    expect(incl.filter((c) => c.expect).length).toBeGreaterThanOrEqual(records.length);
    expect(incl.some((c) => !c.expect)).toBe(true);
    expect(disagreements(incl, run)).toEqual([]);
  });

  it('serves consistency proofs Go accepts between all its checkpoints, and Go rejects their corrupted variants', () => {
    const cons = cases.filter((c) => c.kind === 'consistency');
    expect(cons.filter((c) => c.expect).length).toBe((BATCHES.length * (BATCHES.length + 1)) / 2);
    expect(disagreements(cons, run)).toEqual([]);
    expect(run.exitCode, run.stderr).toBe(0);
  });
});
