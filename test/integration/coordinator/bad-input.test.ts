// Bad input from a person or a script, on real processes: every bad query parameter is a 4xx
// JSON error naming the parameter (never a 5xx), every bad command line is exit code 2 with a
// pointer to --help and creates nothing, every unusable file is exit code 1 naming the file.
// Also: a silent witness never holds up a graceful shutdown.
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../../../src/clients/http.ts';
import { HttpError } from '../../../src/clients/errors.ts';
import { rawExchange } from '../raw-http.ts';
import {
  initCluster,
  killAll,
  runAgdr,
  startCoordinatorProcess,
  tempDir,
  waitFor,
} from '../e2e/harness.ts';
import type { AgdrProcess, ClusterFiles } from '../e2e/harness.ts';

let dir: string;
let init: ClusterFiles;
let coordinator: { proc: AgdrProcess; url: string };
// A witness that accepts connections and never answers.
let witness: http.Server;
let witnessHits = 0;

beforeAll(async () => {
  dir = tempDir('bad-input');
  init = await initCluster(path.join(dir, 'cluster'), 1);
  witness = http.createServer(() => {
    witnessHits++;
  });
  await new Promise<void>((resolve) => witness.listen(0, '127.0.0.1', resolve));
  const witnessUrl = `http://127.0.0.1:${(witness.address() as AddressInfo).port}/add`;
  // No shard listens at port 1: every round marks it missing, and the coordinator still seals.
  coordinator = await startCoordinatorProcess(init, 'http://127.0.0.1:1', [
    '--publish-url',
    witnessUrl,
    '--log-level',
    'warn',
  ]);
});

afterAll(async () => {
  await killAll();
  witness.closeAllConnections();
  witness.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function errorOf(
  pathAndQuery: string,
): Promise<{ status: number; code: string; message: string; path?: string }> {
  const res = await fetch(coordinator.url + pathAndQuery);
  const body = (await res.json()) as { error: { code: string; message: string; path?: string } };
  return { status: res.status, ...body.error };
}

describe('bad input', () => {
  it('answers every bad query or path parameter with a 400 naming it, never a 500', async () => {
    await waitFor('the first global root', async () =>
      (await fetch(`${coordinator.url}/v1/global-roots/latest`)).ok ? true : undefined,
    );
    const cases: [string, string, RegExp][] = [
      ['/v1/global-roots?from=abc', 'from', /whole number/],
      ['/v1/global-roots?from=-1', 'from', /whole number/],
      ['/v1/global-roots?from=99999999999999999999', 'from', /to 9007199254740991/],
      ['/v1/global-roots?from=1&from=2', 'from', /more than once/],
      ['/v1/global-roots?limit=0', 'limit', /at least 1/],
      ['/v1/global-roots/1e3', 'id', /whole number/],
      ['/v1/global-roots/%ZZ', 'url', /malformed/],
      ['/v1/records/%E0%A4%A', 'url', /malformed/],
      ['/v1/sealed?shard=0', 'size', /is required/],
      ['/v1/checkpoints?size=0', 'size', /at least 1/],
      ['/v1/proofs/inclusion?index=5&size=1', 'index', /not below size 1/],
      ['/v1/proofs/inclusion?index=0&size=99999999', 'size', /past the global log size/],
      ['/v1/proofs/consistency?from=1&to=99999999999999999999', 'to', /to 9007199254740991/],
      ['/v1/proofs/consistency?from=2&to=1', 'from', /larger than to/],
      ['/v1/routing-tables/not-a-hash', 'hash', /64 lowercase hex/],
      // One id, one URL: leading zeros are not another spelling of it.
      ['/v1/global-roots/00', 'id', /without leading zeros/],
      ['/v1/records/01', 'index', /without leading zeros/],
      ['/v1/global-roots?from=007', 'from', /without leading zeros/],
      ['/v1/checkpoints?size=01', 'size', /without leading zeros/],
      ['/v1/sealed?shard=00&size=1', 'shard', /without leading zeros/],
    ];
    for (const [url, param, message] of cases) {
      const e = await errorOf(url);
      expect({ url, status: e.status, path: e.path }).toEqual({ url, status: 400, path: param });
      expect(e.message).toMatch(message);
    }
    for (const [method, url] of [
      ['POST', '/v1/global-roots'],
      ['DELETE', '/v1/global-roots/0'],
      ['PUT', '/v1/keys'],
    ] as const) {
      const res = await fetch(coordinator.url + url, { method });
      expect({ method, url, status: res.status }).toEqual({ method, url, status: 405 });
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'method_not_allowed',
      );
    }
    expect((await errorOf('/v1/nothing-here')).status).toBe(404);
    // What Node's HTTP parser refuses before the API sees it is a JSON error too.
    const malformed = await rawExchange(coordinator.url, 'GET /v1/keys HTTP/1.1\r\nHost x\r\n\r\n');
    const huge = await rawExchange(
      coordinator.url,
      `GET /v1/keys HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    for (const [answer, status, code] of [
      [malformed, 400, 'bad_request'],
      [huge, 431, 'headers_too_large'],
    ] as const) {
      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code } });
    }
    const missing = await errorOf('/v1/global-roots/999999');
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    expect(missing.message).toMatch(/no global root with id 999999/);
  });

  it('rejects bad command lines with exit code 2 and a --help pointer, creating nothing', async () => {
    const data = path.join(dir, 'never-created');
    const base = ['--data', data, '--trust', init.trust, '--routing', init.routing];
    const runs = await Promise.all([
      runAgdr(['coordinator', '--shards', 'not-a-url', ...base]),
      runAgdr(['coordinator', '--shards', 'http://x', ...base, '--log-level', 'loud']),
      runAgdr(['coordinator', '--shards', 'http://x', ...base, '--publish-url', 'ftp://x']),
      runAgdr(['submit', '-', '--coordinator', 'not-a-url']),
      runAgdr(['prove', '--coordinator', 'not-a-url', '--record-id', 'x']),
      runAgdr(['local', '--data', data, '--shards', '0']),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^agdr (coordinator|submit|prove|local): .+\nRun 'agdr \w+ --help'/);
    }
    expect(runs.map((r) => r.stderr.split('\n')[0])).toEqual([
      "agdr coordinator: --shards[0]: not a URL: 'not-a-url'",
      "agdr coordinator: --log-level: 'loud' is not one of trace, debug, info, warn, error, fatal, silent",
      "agdr coordinator: --publish-url: 'ftp://x' is not an http(s) URL",
      "agdr submit: --coordinator: 'not-a-url' is not an http(s) URL",
      "agdr prove: --coordinator: 'not-a-url' is not an http(s) URL",
      'agdr local: --shards: must be between 1 and 256',
    ]);
    expect(fs.existsSync(data)).toBe(false);
  });

  it('names the file when a routing table is malformed (submit: 2, local data directory: 1)', async () => {
    const bad = path.join(dir, 'bad-routing.json');
    fs.writeFileSync(bad, '{"epochs": [');
    const submit = await runAgdr([
      'submit',
      '-',
      '--coordinator',
      coordinator.url,
      '--routing',
      bad,
    ]);
    expect(submit.code).toBe(2);
    expect(submit.stderr.split('\n')[0]).toMatch(`agdr submit: --routing ${bad}: `);

    const local = path.join(dir, 'local-bad');
    fs.mkdirSync(local);
    fs.writeFileSync(path.join(local, 'routing.json'), '{"epochs": [');
    const r = await runAgdr(['local', '--data', local, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      `agdr local: ${path.join(local, 'routing.json')}: not a routing epoch table (`,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('keeps credentials in a URL out of error messages', async () => {
    const err = await request('http://user:s3cret@127.0.0.1:1/add', { timeoutMs: 2000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).message).toMatch(/127\.0\.0\.1:1/);
    expect((err as HttpError).message).not.toMatch(/s3cret/);
  });

  it('leaves no abort listener behind on a long-lived signal (one per publication would leak)', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 20; i++) {
      const res = await request(`${coordinator.url}/healthz`, {
        timeoutMs: 2000,
        signal: stop.signal,
      });
      expect(res.status).toBe(200);
    }
    await request('http://127.0.0.1:1/', { timeoutMs: 2000, signal: stop.signal }).catch(
      (e: unknown) => e,
    );
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  // Last: it stops the coordinator.
  it('shuts down promptly on SIGTERM while a witness never answers a publication', async () => {
    await waitFor('a publication attempt', () =>
      Promise.resolve(witnessHits > 0 ? true : undefined),
    );
    const t0 = Date.now();
    const code = await coordinator.proc.kill('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});
