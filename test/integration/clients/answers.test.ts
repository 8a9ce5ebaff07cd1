// The clients check every answer before returning it: a shard or coordinator that answers
// with the wrong shape (broken, hostile, or another service on the port) is an `http_body`
// error naming the URL and the field, never a value typed as something it is not. A loopback
// server plays the broken service; the well-formed answers are covered by the real processes
// in test/integration/coordinator and e2e.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../../src/clients/coordinator-api.ts';
import { HttpError } from '../../../src/clients/errors.ts';
import { ShardClient } from '../../../src/clients/shard-api.ts';
import { toBase64, toHex, utf8 } from '../../../src/core/bytes.ts';

// Path (with query) -> JSON body the broken service answers with, whatever the method.
const answers = new Map<string, unknown>();
let server: http.Server;
let url: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const body = answers.get(req.url ?? '');
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { error: { code: 'not_found', message: 'no' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function failure(p: Promise<unknown>): Promise<HttpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  return err as HttpError;
}

const hash = toHex(new Uint8Array(32).fill(0xab));

describe('ShardClient answers', () => {
  it('decodes a record with the strict envelope decoder', async () => {
    const envelope =
      '{"decision":{"a":1},"routing":{"epoch":0,"key":"k","pointer":"/k","strategy":"entity"},"seq":3,"shard":1,"timestamp_ns":"5"}';
    answers.set('/v1/records/3', {
      seq: 3,
      leaf_hash: hash,
      envelope: JSON.parse(envelope),
      envelope_base64: toBase64(utf8.encode(envelope)),
    });
    const record = await new ShardClient(url).record(3);
    expect(record.envelope.meta).toEqual({
      shard: 1,
      seq: 3,
      timestamp_ns: '5',
      routing: { epoch: 0, key: 'k', pointer: '/k', strategy: 'entity' },
    });
    expect(utf8.decode(record.bytes)).toBe(envelope);

    // The same envelope with its members out of canonical order is not the stored form.
    const reordered = envelope.replace('"seq":3,"shard":1', '"shard":1,"seq":3');
    answers.set('/v1/records/4', {
      seq: 4,
      leaf_hash: hash,
      envelope_base64: toBase64(utf8.encode(reordered)),
    });
    const err = await failure(new ShardClient(url).record(4));
    expect(err.code).toBe('http_body');
    expect(err.message).toContain('/v1/records/4');
  });

  it('refuses a record without its stored bytes, naming the field', async () => {
    answers.set('/v1/records/5', { seq: 5, leaf_hash: hash, envelope: {} });
    const err = await failure(new ShardClient(url).record(5));
    expect(err.code).toBe('http_body');
    expect(err.message).toContain('$.envelope_base64');
  });

  it('refuses proof hashes that are not 32-byte lowercase hex', async () => {
    answers.set('/v1/proofs/consistency?from=1&to=2', { hashes: [hash.toUpperCase()] });
    const err = await failure(new ShardClient(url).consistencyProof(1, 2));
    expect(err.message).toContain('$.hashes[0]');
    answers.set('/v1/proofs/consistency?from=1&to=3', { hashes: [hash] });
    expect(await new ShardClient(url).consistencyProof(1, 3)).toHaveLength(1);
  });

  it('refuses receipts without a routing key', async () => {
    const receipt = {
      shard_id: 0,
      seq: 0,
      leaf_hash: hash,
      record_id: 'r1',
      routing: { epoch: 0, strategy: 'entity' },
    };
    answers.set('/v1/decisions:batch', { receipts: [receipt] });
    const err = await failure(new ShardClient(url).submitBatch('{}\n'));
    expect(err.message).toContain('$.receipts[0].routing.key');
  });
});

describe('CoordinatorClient answers', () => {
  it('refuses a global root entry whose record fails the record checker', async () => {
    answers.set('/v1/global-roots/latest', {
      index: 0,
      leaf_hash: hash,
      record: { type: 'global_root', global_root_id: 0 },
    });
    const err = await failure(new CoordinatorClient(url).latestGlobalRoot());
    expect(err.code).toBe('http_body');
    expect(err.message).toContain('/v1/global-roots/latest');
  });

  it("reads the missing report, checking every missed interval with core's checker", async () => {
    const interval = {
      global_root_id: 4,
      interval_start_ns: '1000',
      interval_end_ns: '2000',
      status: 'missing',
      reason: 'no answer within 800 ms',
    };
    const report = {
      open: [
        {
          shard_id: 2,
          status: 'missing',
          reason: 'no answer within 800 ms',
          intervals: [interval],
        },
      ],
      reconstructed: [
        { index: 9, shard_id: 1, size: 40, missed: [{ ...interval, global_root_id: 2 }] },
      ],
    };
    answers.set('/v1/missing', report);
    // Read back over HTTP and checked member by member: exactly what was served.
    expect(await new CoordinatorClient(url).missing()).toEqual(report);
    answers.set('/v1/missing', {
      open: [{ shard_id: 2, intervals: [{ ...interval, status: 'late' }] }],
      reconstructed: [],
    });
    const err = await failure(new CoordinatorClient(url).missing());
    expect(err.code).toBe('http_body');
    expect(err.message).toContain('$.open[0].intervals[0].status');
  });

  it('answers undefined for a 404 and checks the shard listing', async () => {
    expect(await new CoordinatorClient(url).sealing(1, 1)).toBeUndefined();
    answers.set('/v1/shards', {
      shards: [
        {
          shard_id: 0,
          url: 'http://127.0.0.1:1',
          status: 'sleeping',
          reason: null,
          sealed_size: null,
          sealed_root: null,
          open_intervals: 0,
        },
      ],
    });
    const err = await failure(new CoordinatorClient(url).shards());
    expect(err.message).toContain('$.shards[0].status');
  });

  it('refuses a routing table that core does not accept', async () => {
    answers.set('/v1/routing', { version: 1, epochs: 'none' });
    const err = await failure(new CoordinatorClient(url).routing());
    expect(err.code).toBe('http_body');
  });
});
