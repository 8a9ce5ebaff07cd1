// Requests from an attacker, against a real `agdr shard` process on 127.0.0.1: oversized and
// malformed parameters, bodies a browser page could send, bodies larger than announced limits,
// bodies that stall, heads that stall, and more connections than the shard takes. Every answer
// is a 4xx (or 503) JSON error, nothing is appended, and the shard keeps serving.
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EpochTable } from '../../../src/core/routing.ts';
import { rawExchange } from '../raw-http.ts';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  startShardProcess,
  tempDir,
  writeRouting,
  type ShardProcess,
} from './shard-process.ts';
import { recordLine, sdkLine } from '../../fixtures/records.ts';

interface ApiError {
  error: { code: string; message: string; path: string; [k: string]: unknown };
}

const table: EpochTable = epochTable(1);
let shard: ShardProcess;
const KiB = 1024;
const MAX_CONNECTIONS = 24;

const size = async (): Promise<number> =>
  (await request<{ tree_size: number }>(`${shard.url}/readyz`)).body.tree_size;

beforeAll(async () => {
  const dir = tempDir();
  shard = await startShardProcess({
    dataDir: path.join(dir, 'data'),
    shardId: 0,
    routingFile: writeRouting(dir, table),
    args: [
      ['--max-body', String(64 * KiB)],
      ['--max-batch-body', String(512 * KiB)],
      ['--max-inflight-body', String(768 * KiB)],
      ['--body-timeout', '1s'],
      ['--headers-timeout', '1s'],
      ['--max-connections', String(MAX_CONNECTIONS)],
      ['--allow-origin', 'https://console.example'],
      ['--allow-host', 'shard-0.example'],
    ].flat(),
  });
});

afterAll(async () => {
  await shard?.kill();
  removeTempDirs();
});

/** A POST head for the batch endpoint with `extra` header lines. */
const batchHead = (extra: string): string =>
  `POST /v1/decisions:batch HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

const errorOf = (body: string): ApiError['error'] => (JSON.parse(body) as ApiError).error;

describe('parameters', () => {
  it('answers a record_id longer than any index key (or not an id at all) with 400, never 500', async () => {
    for (const id of ['a'.repeat(4096), 'é'.repeat(2100), 'a'.repeat(1979), 'no spaces']) {
      const res = await request<ApiError>(
        `${shard.url}/v1/records?record_id=${encodeURIComponent(id)}`,
      );
      expect([id.length, res.status, res.body.error.code, res.body.error.path]).toEqual([
        id.length,
        400,
        'bad_parameter',
        'record_id',
      ]);
    }
    // The longest id the index can key is still a lookup: 404 here, not a refusal.
    const longest = await request(`${shard.url}/v1/records?record_id=${'a'.repeat(1978)}`);
    expect(longest.status).toBe(404);
  });

  it('answers another method on a known path with 405 and Allow, and an unknown path with 404', async () => {
    for (const [method, url, allow] of [
      ['GET', '/v1/decisions', 'POST'],
      ['PUT', '/v1/decisions:batch', 'POST'],
      ['DELETE', '/v1/records/0', 'GET, HEAD'],
      ['POST', '/v1/checkpoint', 'GET, HEAD'],
    ] as const) {
      const res = await fetch(shard.url + url, { method });
      const body = (await res.json()) as ApiError;
      expect([method, url, res.status, res.headers.get('allow'), body.error.code]).toEqual([
        method,
        url,
        405,
        allow,
        'method_not_allowed',
      ]);
    }
    expect((await request(`${shard.url}/v1/nowhere`, { method: 'DELETE' })).status).toBe(404);
  });

  it("answers what Node's parser refuses (bad head 400, huge head 431) with a JSON error", async () => {
    const malformed = await rawExchange(shard.url, 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n');
    const huge = await rawExchange(
      shard.url,
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    for (const [answer, status, code] of [
      [malformed, 400, 'bad_request'],
      [huge, 431, 'headers_too_large'],
    ] as const) {
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(errorOf(answer.body).code).toBe(code);
    }
  });
});

describe('record_id', () => {
  it('refuses a different decision under a stored record_id with 409 (also within a batch); the same one stays idempotent', async () => {
    const [d, e] = decisionsFor(table, 0, 2, { tag: 'taken' });
    const post = (body: unknown) =>
      request<ApiError & { seq: number }>(`${shard.url}/v1/decisions`, {
        body: sdkLine(body),
      });
    const first = await post(d);
    expect(first.status).toBe(201);
    const before = await size();
    const forged = await post({ ...d, output: 'something else' });
    expect(forged.status).toBe(409);
    expect(forged.body.error).toMatchObject({
      code: 'record_id_conflict',
      path: '$.record_id',
      conflicts: [{ line: 1, record_id: d?.record_id, seq: first.body.seq }],
    });
    const batch = await request<ApiError>(`${shard.url}/v1/decisions:batch`, {
      body: ndjson([e, { ...e, output: 'other' }]),
      type: 'application/x-ndjson',
    });
    expect(batch.status).toBe(409);
    expect(batch.body.error.conflicts).toEqual([
      { line: 2, record_id: e?.record_id, original_line: 1 },
    ]);
    expect(await size()).toBe(before);
    const again = await post(d);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const stored = await request<{ envelope_base64: string }>(
      `${shard.url}/v1/records?record_id=${String(d?.record_id)}`,
    );
    const envelope = Buffer.from(stored.body.envelope_base64, 'base64').toString('utf8');
    expect(envelope.startsWith(`{"decision":${recordLine(d)},"routing":`)).toBe(true);
  });
});

describe('browsers', () => {
  const [d] = decisionsFor(table, 0, 1, { tag: 'browser' });
  const post = (headers: Record<string, string>): Promise<Response> =>
    fetch(`${shard.url}/v1/decisions`, { method: 'POST', body: sdkLine(d), headers });

  it('takes ingest only as application/json or application/x-ndjson (415 otherwise)', async () => {
    const before = await size();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const res = await post({ 'content-type': type });
      const body = (await res.json()) as ApiError;
      expect([type, res.status, body.error.code, body.error.path]).toEqual([
        type,
        415,
        'unsupported_media_type',
        'Content-Type',
      ]);
    }
    // No Content-Type at all, and a charset other than UTF-8.
    const bare = await rawExchange(
      shard.url,
      `POST /v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}`,
    );
    expect(bare.status).toBe(415);
    const latin1 = await post({ 'content-type': 'application/json; charset=iso-8859-1' });
    expect(latin1.status).toBe(415);
    expect(await size()).toBe(before);
  });

  it('refuses a page of another origin (CSRF) and a rebound host name, serves an allowed origin', async () => {
    const before = await size();
    const json = { 'content-type': 'application/json' };
    const cases: [Record<string, string>, string][] = [
      [{ ...json, origin: 'https://evil.example' }, 'origin_not_allowed'],
      [{ ...json, origin: 'null' }, 'origin_not_allowed'],
      // DNS rebinding: a same-origin request under a name that now points at the shard.
      [
        { ...json, 'sec-fetch-site': 'same-origin', host: 'evil.example:7071' },
        'origin_not_allowed',
      ],
      [{ ...json, origin: 'https://console.example', host: 'evil.example' }, 'host_not_allowed'],
      // With --allow-host given, a Host the shard is not reached by is refused for any client.
      [{ ...json, host: 'evil.example' }, 'host_not_allowed'],
    ];
    for (const [headers, code] of cases) {
      const head = Object.entries({ host: '127.0.0.1', ...headers })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      const body = sdkLine(d);
      const res = await rawExchange(
        shard.url,
        `POST /v1/decisions HTTP/1.1\r\n${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
        { body },
      );
      expect([headers, res.status, errorOf(res.body).code]).toEqual([headers, 403, code]);
    }
    // Reads are refused too: a rebound page must not read records either.
    const read = await fetch(`${shard.url}/v1/checkpoint`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(read.status).toBe(403);
    expect(await size()).toBe(before);

    const allowed = await post({ ...json, origin: 'https://console.example' });
    expect(allowed.status).toBe(201);
    const byName = await rawExchange(
      shard.url,
      `GET /healthz HTTP/1.1\r\nHost: shard-0.example:7071\r\nSec-Fetch-Site: same-origin\r\nOrigin: https://console.example\r\n\r\n`,
    );
    expect(byName.status).toBe(200);
  });
});

describe('resource limits', () => {
  it('refuses an over-limit Content-Length before reading the body, and Expect: 100-continue with it', async () => {
    const before = await size();
    const t0 = Date.now();
    // Only the head is sent: the answer must not wait for a body.
    const over = await rawExchange(
      shard.url,
      batchHead(`Content-Type: application/x-ndjson\r\nContent-Length: ${64 << 20}\r\n`),
    );
    expect(over.status).toBe(413);
    expect(errorOf(over.body)).toMatchObject({ code: 'body_too_large', limit: 512 * KiB });
    expect(over.headers.connection).toBe('close');
    expect(Date.now() - t0).toBeLessThan(1000);

    const expectOver = await rawExchange(
      shard.url,
      batchHead(
        `Content-Type: application/x-ndjson\r\nContent-Length: ${64 << 20}\r\nExpect: 100-continue\r\n`,
      ),
    );
    expect(expectOver.raw).not.toMatch(/100 Continue/);
    expect(expectOver.status).toBe(413);
    // Another expectation than 100-continue: 417.
    const other = await rawExchange(
      shard.url,
      batchHead(`Content-Type: application/x-ndjson\r\nContent-Length: 10\r\nExpect: tea\r\n`),
    );
    expect(other.status).toBe(417);
    expect(errorOf(other.body).code).toBe('expectation_failed');
    expect(await size()).toBe(before);

    // Within the limit: 100 Continue, then the body, then the receipts.
    const body = ndjson(decisionsFor(table, 0, 3, { tag: 'continue' }));
    const head = batchHead(
      `Content-Type: application/x-ndjson\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n`,
    );
    const accepted = await new Promise<string>((resolve, reject) => {
      const u = new URL(shard.url);
      const socket = net.connect(Number(u.port), u.hostname, () => socket.write(head));
      let raw = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => {
        // The body goes only after the shard said 100 Continue.
        if (raw === '' && c.startsWith('HTTP/1.1 100 Continue')) socket.write(body);
        raw += c;
        if (/\r\n\r\n\{"receipts".*\]\}$/.test(raw)) {
          socket.destroy();
          resolve(raw);
        }
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no answer: ${raw}`)), 5000);
    });
    expect(accepted).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(await size()).toBe(before + 3);
  });

  it('cuts a body that stalls (408) and a head that stalls (408), closing the connection', async () => {
    const before = await size();
    const t0 = Date.now();
    const stalled = await rawExchange(
      shard.url,
      batchHead(`Content-Type: application/x-ndjson\r\nContent-Length: ${100 * KiB}\r\n`),
      { body: Buffer.alloc(50 * KiB, 0x20), untilClosed: true, waitMs: 8000 },
    );
    expect(stalled.status).toBe(408);
    expect(errorOf(stalled.body).code).toBe('body_timeout');
    expect(stalled.closed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);

    const slowHead = await rawExchange(shard.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n', {
      untilClosed: true,
      waitMs: 8000,
    });
    expect(slowHead.status).toBe(408);
    expect(errorOf(slowHead.body).code).toBe('request_timeout');
    expect(slowHead.closed).toBe(true);
    expect(await size()).toBe(before);
  });

  it('holds at most --max-inflight-body of request bodies: past it, 503 overloaded with Retry-After', async () => {
    const before = await size();
    // Two bodies of 400 KiB each, sent only in part and held open: 800 KiB would pass 768 KiB.
    const open: net.Socket[] = [];
    const hold = (): Promise<net.Socket> =>
      new Promise((resolve) => {
        const u = new URL(shard.url);
        const s = net.connect(Number(u.port), u.hostname, () => {
          s.write(
            batchHead(`Content-Type: application/x-ndjson\r\nContent-Length: ${500 * KiB}\r\n`),
          );
          s.write(Buffer.alloc(400 * KiB, 0x20), () => resolve(s));
        });
        s.on('error', () => undefined);
        open.push(s);
      });
    await hold();
    await new Promise((r) => setTimeout(r, 200));
    const second = await rawExchange(
      shard.url,
      batchHead(`Content-Type: application/x-ndjson\r\nContent-Length: ${500 * KiB}\r\n`),
      { body: Buffer.alloc(400 * KiB, 0x20), waitMs: 3000 },
    );
    expect(second.status).toBe(503);
    expect(errorOf(second.body).code).toBe('overloaded');
    expect(second.headers['retry-after']).toBe('1');
    for (const s of open) s.destroy();
    // Once the held body is gone its bytes are free again.
    const body = ndjson(decisionsFor(table, 0, 2, { tag: 'after-hold' }));
    const ok = await request(`${shard.url}/v1/decisions:batch`, {
      body,
      type: 'application/x-ndjson',
    });
    expect(ok.status).toBe(200);
    expect(await size()).toBe(before + 2);
  });

  it('closes connections past --max-connections at once, and serves again when they go', async () => {
    const u = new URL(shard.url);
    const connect = (): Promise<{ socket: net.Socket; closed: Promise<void> }> =>
      new Promise((resolve) => {
        const socket = net.connect(Number(u.port), u.hostname, () => resolve({ socket, closed }));
        const closed = new Promise<void>((r) => socket.on('close', () => r()));
        socket.on('error', () => undefined);
      });
    const idle = [];
    for (let i = 0; i < MAX_CONNECTIONS; i++) idle.push(await connect());
    const extra = await connect();
    const closedSoon = await Promise.race([
      extra.closed.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
    ]);
    expect(closedSoon).toBe(true);
    for (const c of idle) c.socket.destroy();
    await Promise.all(idle.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 100));
    expect((await request(`${shard.url}/healthz`)).status).toBe(200);
  });
});
