// The shared HTTP client's bearer token: read from its file for every request (a projected
// ServiceAccount token is rewritten in place as it rotates), sent as `Authorization: Bearer`,
// refused before sending when the file does not hold one token. A loopback server records what
// arrives.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tokenFile } from '../../../src/clients/bearer-token.ts';
import { ClientError } from '../../../src/clients/errors.ts';
import { ShardClient } from '../../../src/clients/shard-api.ts';

const seen: (string | undefined)[] = [];
let server: http.Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'agdr-bearer-'));

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('note');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

it('sends the token file as it is at each request, and no header without one', async () => {
  const file = join(dir, 'token');
  writeFileSync(file, 'eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln\n');
  const client = new ShardClient(url, 5_000, tokenFile(file));
  await client.latestCheckpoint();
  writeFileSync(file, 'eyJhbGciOiJSUzI1NiJ9.eyJhIjoyfQ.c2ln');
  await client.latestCheckpoint();
  await new ShardClient(url, 5_000).latestCheckpoint();
  expect(seen).toEqual([
    'Bearer eyJhbGciOiJSUzI1NiJ9.eyJhIjoxfQ.c2ln',
    'Bearer eyJhbGciOiJSUzI1NiJ9.eyJhIjoyfQ.c2ln',
    undefined,
  ]);
});

it('refuses a file that holds no single-line token, and a missing file, before sending', async () => {
  const before = seen.length;
  const file = join(dir, 'bad');
  writeFileSync(file, 'two\r\nX-Injected: yes');
  const bad = await new ShardClient(url, 5_000, tokenFile(file)).latestCheckpoint().catch((e) => e);
  expect(bad).toBeInstanceOf(ClientError);
  expect((bad as ClientError).code).toBe('bad_config');
  const missing = await new ShardClient(url, 5_000, tokenFile(join(dir, 'none')))
    .latestCheckpoint()
    .catch((e) => e);
  expect((missing as ClientError).message).toMatch(/cannot read the token file/);
  expect(seen.length).toBe(before);
});
