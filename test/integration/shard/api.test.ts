// The shard's HTTP API against a real `agdr shard` process on 127.0.0.1.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../../src/core/bytes.ts';
import { verifyCheckpoint } from '../../../src/core/checkpoint.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../../src/core/merkle/proof.ts';
import { defaultKeyPointers, type EpochTable } from '../../../src/core/routing.ts';
import { recordLine, sdkLine } from '../../fixtures/records.ts';
import {
  decision,
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  startShardProcess,
  tempDir,
  signedCheckpoint,
  waitFor,
  writeRouting,
  type ShardProcess,
} from './shard-process.ts';

interface Receipt {
  shard_id: number;
  seq: number;
  leaf_hash: string;
  record_id: string;
  routing: { epoch: number; strategy: string; key: string };
}
interface ApiError {
  error: { code: string; message: string; path: string; [k: string]: unknown };
}

const table: EpochTable = epochTable(2);
let dir: string;
let routingFile: string;
let shard: ShardProcess;

const size = async (): Promise<number> =>
  (await request<{ tree_size: number }>(`${shard.url}/readyz`)).body.tree_size;

/** The latest checkpoint once it covers at least `min` records, verified with the shard's key. */
async function checkpointCovering(
  min: number,
): Promise<{ size: number; root: Uint8Array; note: string }> {
  const { cp, note } = await signedCheckpoint(shard, min);
  return { size: cp.size, root: cp.rootHash, note };
}

beforeAll(async () => {
  dir = tempDir();
  routingFile = writeRouting(dir, table);
  shard = await startShardProcess({
    dataDir: path.join(dir, 'data'),
    shardId: 0,
    routingFile,
    args: ['--checkpoint-interval', '200ms', '--max-batch-lines', '50', '--max-body', '4000'],
  });
});

afterAll(async () => {
  await shard?.kill();
  removeTempDirs();
});

describe('ingest', () => {
  it('acknowledges one decision with 201 and a receipt, and a repeat with 200 and the same receipt', async () => {
    const [d] = decisionsFor(table, 0, 1, { tag: 'single' });
    const first = await request<Receipt>(`${shard.url}/v1/decisions`, { body: sdkLine(d) });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      shard_id: 0,
      record_id: d?.record_id,
      routing: { epoch: 0, strategy: 'hash-by-entity', key: d?.entity_id, pointer: '/entity_id' },
    });
    expect(first.headers.get('server-timing')).toMatch(
      /validate;dur=[\d.]+, hash;dur=[\d.]+, persist;dur=[\d.]+, total;dur=[\d.]+/,
    );
    const before = await size();
    const again = await request<Receipt>(`${shard.url}/v1/decisions`, { body: sdkLine(d) });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await size()).toBe(before);
  });

  it('acknowledges an NDJSON batch with one receipt per line, in order, duplicates pointing at the original', async () => {
    const ds = decisionsFor(table, 0, 20, { tag: 'batch' });
    const body = ndjson([...ds, ds[3]]);
    const res = await request<{ receipts: Receipt[] }>(`${shard.url}/v1/decisions:batch`, {
      body,
      type: 'application/x-ndjson',
    });
    expect(res.status).toBe(200);
    const r = res.body.receipts;
    expect(r.map((x) => x.record_id)).toEqual([...ds.map((d) => d.record_id), ds[3]?.record_id]);
    const seqs = r.slice(0, 20).map((x) => x.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    expect(r[20]).toEqual(r[3]);
  });

  it('rejects a batch with invalid lines whole, listing each problem with its line, and appends nothing', async () => {
    const ds = decisionsFor(table, 0, 4, { tag: 'bad-batch' });
    const broken = { ...ds[1], ppp_triplet: { provenance: 'p', place: '', purpose: 'q' } };
    const lines = [
      sdkLine(ds[0]),
      sdkLine(broken),
      sdkLine(ds[2]),
      '{"record_id":',
      sdkLine(ds[3]),
    ];
    const before = await size();
    const res = await request<ApiError>(`${shard.url}/v1/decisions:batch`, {
      body: lines.join('\n'),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_decision');
    const problems = res.body.error.problems as { line: number; path: string; message: string }[];
    expect(problems.map((p) => [p.line, p.path])).toEqual([
      [2, '$.ppp_triplet.place'],
      [4, '$.record_id'], // the JSON text ends where record_id's value should be
    ]);
    expect(await size()).toBe(before);
    const probe = await request(`${shard.url}/v1/records?record_id=${String(ds[0]?.record_id)}`);
    expect(probe.status).toBe(404);
  });

  it('answers a misrouted decision with 421 and the right shard id, and appends nothing', async () => {
    const [other] = decisionsFor(table, 1, 1, { tag: 'misrouted' });
    const before = await size();
    const single = await request<ApiError>(`${shard.url}/v1/decisions`, {
      body: sdkLine(other),
    });
    expect(single.status).toBe(421);
    expect(single.body.error).toMatchObject({ code: 'misrouted', shard_id: 1 });
    const [mine] = decisionsFor(table, 0, 1, { tag: 'mixed' });
    const batch = await request<ApiError>(`${shard.url}/v1/decisions:batch`, {
      body: ndjson([mine, other]),
    });
    expect(batch.status).toBe(421);
    expect(batch.body.error.misrouted).toEqual([
      { line: 2, record_id: other?.record_id, shard_id: 1, epoch: 0 },
    ]);
    expect(await size()).toBe(before);
  });

  it('reads a body however it is framed: chunked without a length, split mid-line, gzip', async () => {
    /** POSTs `pieces` one write each (chunked transfer encoding: no Content-Length). */
    const post = (
      pathname: string,
      pieces: Uint8Array[],
      headers: Record<string, string> = {},
    ): Promise<{ status: number; body: { receipts?: Receipt[]; error?: { code: string } } }> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          `${shard.url}${pathname}`,
          { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        for (const p of pieces) req.write(p);
        req.end();
      });
    const ds = decisionsFor(table, 0, 7, { tag: 'framed' });
    const body = Buffer.from(ndjson(ds));
    // Cut inside lines and at a line end, with an empty piece: the chunks arrive as they come.
    const cuts = [0, 5, 400, 401, body.indexOf(0x0a) + 1, 1500, body.length];
    const pieces = cuts.slice(1).map((end, k) => body.subarray(cuts[k], end));
    const framed = await post('/v1/decisions:batch', pieces);
    expect(framed.status).toBe(200);
    expect(framed.body.receipts?.map((r) => r.record_id)).toEqual(ds.map((d) => d.record_id));
    for (const r of framed.body.receipts ?? []) {
      const stored = await request<{ envelope_base64: string }>(`${shard.url}/v1/records/${r.seq}`);
      const i = ds.findIndex((d) => d.record_id === r.record_id);
      // The stored bytes hold the decision's canonical form, every integer digit included.
      const envelope = Buffer.from(stored.body.envelope_base64, 'base64').toString('utf8');
      expect(envelope.startsWith(`{"decision":${recordLine(ds[i])},"routing":`)).toBe(true);
    }
    // Content-encoded bodies are inflated: the same decisions again are the same receipts.
    const gz = await post('/v1/decisions:batch', [zlib.gzipSync(body)], {
      'content-encoding': 'gzip',
    });
    expect(gz.status).toBe(200);
    expect(gz.body.receipts).toEqual(framed.body.receipts);
    // Past the limit while streaming (no Content-Length to refuse it up front): 413.
    const before = await size();
    const tooBig = await post('/v1/decisions', [
      Buffer.alloc(3000, 0x20),
      Buffer.alloc(3000, 0x20),
    ]);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error?.code).toBe('body_too_large');
    expect(await size()).toBe(before);
  });

  it('enforces body, line-count and field limits with 4xx JSON errors', async () => {
    const big = await request<ApiError>(`${shard.url}/v1/decisions`, {
      body: sdkLine(decision(1, { bytes: 5000 })),
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('body_too_large');
    const many = await request<ApiError>(`${shard.url}/v1/decisions:batch`, {
      body: ndjson(decisionsFor(table, 0, 51, { tag: 'many' })),
    });
    expect(many.status).toBe(413);
    expect(many.body.error.code).toBe('too_many_lines');
    const [d] = decisionsFor(table, 0, 1, { tag: 'long-id' });
    const longId = await request<ApiError>(`${shard.url}/v1/decisions`, {
      body: sdkLine({ ...d, record_id: 'm'.repeat(300) }),
    });
    expect(longId.status).toBe(400);
    expect(longId.body.error.path).toBe('$.record_id');
    const empty = await request<ApiError>(`${shard.url}/v1/decisions:batch`, { body: '\n\n' });
    expect(empty.status).toBe(400);
  });
});

describe('checkpoints and proofs', () => {
  it('signs checkpoints that verify, and serves inclusion and consistency proofs that verify against them', async () => {
    const ds = decisionsFor(table, 0, 30, { tag: 'proofs' });
    const first = await checkpointCovering(1);
    const res = await request<{ receipts: Receipt[] }>(`${shard.url}/v1/decisions:batch`, {
      body: ndjson(ds),
    });
    const receipts = res.body.receipts;
    const last = (receipts.at(-1) as Receipt).seq;
    const cp = await checkpointCovering(last + 1);
    expect((await request<string>(`${shard.url}/v1/checkpoints?size=${cp.size}`)).text).toBe(
      cp.note,
    );
    for (const r of receipts) {
      const p = await request<{ leaf_index: number; tree_size: number; hashes: string[] }>(
        `${shard.url}/v1/proofs/inclusion?index=${r.seq}&size=${cp.size}`,
      );
      expect(p.body).toMatchObject({ leaf_index: r.seq, tree_size: cp.size });
      verifyInclusion(
        blake3Reference,
        r.seq,
        cp.size,
        fromHex(r.leaf_hash),
        p.body.hashes.map(fromHex),
        cp.root,
      );
      // The stored envelope hashes to the receipt's leaf hash.
      const rec = await request<{
        leaf_hash: string;
        envelope_base64: string;
        envelope: { seq: number; shard: number };
      }>(`${shard.url}/v1/records/${r.seq}`);
      expect(rec.body.leaf_hash).toBe(r.leaf_hash);
      expect(
        Buffer.from(
          blake3Reference.hashLeaf(Buffer.from(rec.body.envelope_base64, 'base64')),
        ).toString('hex'),
      ).toBe(r.leaf_hash);
      expect(rec.body.envelope).toMatchObject({ seq: r.seq, shard: 0 });
    }
    if (first.size > 0) {
      const c = await request<{ hashes: string[] }>(
        `${shard.url}/v1/proofs/consistency?from=${first.size}&to=${cp.size}`,
      );
      verifyConsistency(
        blake3Reference,
        first.size,
        cp.size,
        c.body.hashes.map(fromHex),
        first.root,
        cp.root,
      );
    }
    const byId = await request<{ seq: number }>(
      `${shard.url}/v1/records?record_id=${String(ds[5]?.record_id)}`,
    );
    expect(byId.body.seq).toBe(receipts[5]?.seq);
  });

  it('rejects bad proof and record parameters with 400/404 JSON errors', async () => {
    const n = await size();
    const cases: [string, number, string][] = [
      [`/v1/proofs/inclusion?index=0&size=${n + 1}`, 400, 'size'],
      [`/v1/proofs/inclusion?index=${n}&size=${n}`, 400, 'index'],
      ['/v1/proofs/inclusion?index=-1&size=1', 400, 'index'],
      ['/v1/proofs/consistency?from=0&to=1', 400, 'from'],
      ['/v1/proofs/consistency?from=1', 400, 'to'],
      ['/v1/checkpoints?size=abc', 400, 'size'],
      ['/v1/checkpoints?size=999999999', 404, 'size'],
      [`/v1/records/${n + 5}`, 404, 'seq'],
      ['/v1/records?record_id=nope', 404, 'record_id'],
      ['/v1/nothing-here', 404, '/v1/nothing-here'],
    ];
    for (const [url, status, p] of cases) {
      const res = await request<ApiError>(shard.url + url);
      expect([url, res.status, res.body.error.path]).toEqual([url, status, p]);
    }
  });
});

describe('routing, health and metrics', () => {
  it('serves the epoch table in force and reloads it when the file changes', async () => {
    const res = await request<EpochTable>(`${shard.url}/v1/routing`);
    expect(res.body).toEqual(table);
    const next: EpochTable = {
      epochs: [
        ...table.epochs,
        {
          epoch: 1,
          strategy: 'hash-by-session',
          key_pointers: defaultKeyPointers('hash-by-session'),
          bucket: 'jump',
          shards: 2,
          params: {},
          effective_from_ns: '1900000000000000000',
        },
      ],
    };
    const tmp = `${routingFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(next));
    fs.renameSync(tmp, routingFile);
    await waitFor(async () =>
      (await request<EpochTable>(`${shard.url}/v1/routing`)).body.epochs.length === 2
        ? true
        : undefined,
    );
    // An invalid file is refused; the table in force stays.
    fs.writeFileSync(routingFile, '{"epochs": "nope"}');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await request<EpochTable>(`${shard.url}/v1/routing`)).body.epochs).toHaveLength(2);
  });

  it('reports health, readiness and Prometheus metrics', async () => {
    expect((await request(`${shard.url}/healthz`)).status).toBe(200);
    expect((await request(`${shard.url}/readyz`)).status).toBe(200);
    const m = (await request<string>(`${shard.url}/metrics`)).text;
    for (const name of [
      'agdr_shard_appends_total',
      'agdr_shard_group_commit_entries_bucket',
      'agdr_shard_fsync_seconds_bucket',
      'agdr_shard_tree_size',
      'agdr_shard_checkpoint_age_seconds',
      'agdr_shard_rejected_total{reason="misrouted"',
      'agdr_shard_rejected_total{reason="invalid_decision"',
    ]) {
      expect(m).toContain(name);
    }
  });
});

describe('shutdown', () => {
  it('exits 0 on SIGTERM after a final checkpoint of everything acknowledged, and resumes the same log', async () => {
    const ds = decisionsFor(table, 0, 10, { tag: 'final' });
    const res = await request<{ receipts: Receipt[] }>(`${shard.url}/v1/decisions:batch`, {
      body: ndjson(ds),
    });
    const n = (res.body.receipts.at(-1) as Receipt).seq + 1;
    expect(await shard.stop()).toBe(0);
    // Shutdown ran to its end: the log was closed (its lock released), not abandoned.
    expect(fs.existsSync(path.join(dir, 'data', 'log', 'LOCK'))).toBe(false);
    fs.writeFileSync(routingFile, JSON.stringify(table));
    shard = await startShardProcess({ dataDir: path.join(dir, 'data'), shardId: 0, routingFile });
    expect(shard.info.size).toBe(n);
    const note = (await request<string>(`${shard.url}/v1/checkpoint`)).text;
    expect(verifyCheckpoint(note, [shard.info.verifier_key], shard.info.origin).size).toBe(n);
    const again = await request<Receipt>(`${shard.url}/v1/decisions`, {
      body: sdkLine(ds[4]),
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(res.body.receipts[4]);
  });
});
