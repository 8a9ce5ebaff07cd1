// Caller authentication of a real `agdr shard` process: with --auth serviceAccountToken a
// decision is appended only with a valid ServiceAccount token of an allowed writer (401 without
// one or with one that proves nothing, 403 for a ServiceAccount not allowed, nothing appended);
// records are read only with a token when reads are authenticated; the issuer keys are reloaded
// when their file changes; tokens never reach the log. Tokens come from a test issuer's key
// (test/fixtures/sa-tokens.ts); the cluster tier uses the API server's own.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EpochTable } from '../../../src/core/routing.ts';
import { sdkLine } from '../../fixtures/records.ts';
import { testIssuer } from '../../fixtures/sa-tokens.ts';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  runShardExpectingExit,
  startShardProcess,
  tempDir,
  waitFor,
  writeRouting,
  type ShardProcess,
} from './shard-process.ts';

interface ApiError {
  error: { code: string; message: string; path: string; reason?: string };
}

const table: EpochTable = epochTable(1);
const AUDIENCE = 'agdr.dev/trading/ledger';
let issuer = testIssuer('key-1');
let dir: string;
let keysFile: string;
let routingFile: string;
let shard: ShardProcess;
let open: ShardProcess;

const token = (namespace: string, serviceAccount: string, over: { audience?: string } = {}) =>
  issuer.token({ namespace, serviceAccount, audience: over.audience ?? AUDIENCE });
const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
const size = async (s: ShardProcess): Promise<number> =>
  (await request<{ tree_size: number }>(`${s.url}/readyz`)).body.tree_size;

let next = 0;
function oneDecision(): string {
  const [d] = decisionsFor(table, 0, 1, { tag: `auth-${next++}` });
  return sdkLine(d);
}

beforeAll(async () => {
  dir = tempDir();
  routingFile = writeRouting(dir, table);
  keysFile = path.join(dir, 'issuer-keys.json');
  fs.writeFileSync(keysFile, JSON.stringify(issuer.document));
  [shard, open] = await Promise.all([
    startShardProcess({
      dataDir: path.join(dir, 'data'),
      shardId: 0,
      routingFile,
      args: [
        ...['--namespace', 'trading', '--cluster', 'ledger', '--auth', 'serviceAccountToken'],
        ...['--auth-issuer-keys', keysFile, '--allow-writer', 'trading/desk'],
        ...['--reads', 'authenticated', '--allow-reader', 'audit'],
        ...['--checkpoint-interval', '200ms'],
      ],
    }),
    startShardProcess({ dataDir: path.join(dir, 'open'), shardId: 0, routingFile }),
  ]);
});

afterAll(async () => {
  await Promise.all([shard?.kill(), open?.kill()]);
  removeTempDirs();
});

describe('appending', () => {
  it('refuses a request without a token, or with one that proves nothing, with 401 and appends nothing', async () => {
    const before = await size(shard);
    const wrongIssuer = testIssuer('key-1');
    const cases: [Record<string, string>, string, string | undefined][] = [
      [{}, 'unauthenticated', undefined],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 'unauthenticated', undefined],
      [bearer('not-a-jwt'), 'invalid_token', 'malformed_token'],
      [
        bearer(token('trading', 'desk', { audience: 'agdr.dev/trading/other' })),
        'invalid_token',
        'wrong_audience',
      ],
      [
        bearer(token('trading', 'desk', { audience: 'https://kubernetes.default.svc' })),
        'invalid_token',
        'wrong_audience',
      ],
      [
        bearer(
          wrongIssuer.token({ namespace: 'trading', serviceAccount: 'desk', audience: AUDIENCE }),
        ),
        'invalid_token',
        'bad_signature',
      ],
      [
        bearer(
          issuer.token({
            namespace: 'trading',
            serviceAccount: 'desk',
            audience: AUDIENCE,
            iat: 1_700_000_000,
          }),
        ),
        'invalid_token',
        'expired',
      ],
    ];
    for (const [headers, code, reason] of cases) {
      for (const [route, body, type] of [
        ['/v1/decisions', oneDecision(), 'application/json'],
        ['/v1/decisions:batch', ndjson([JSON.parse(oneDecision())]), 'application/x-ndjson'],
      ] as const) {
        const r = await request<ApiError>(`${shard.url}${route}`, { body, type, headers });
        expect(r.status, `${route} ${code} ${reason}`).toBe(401);
        expect(r.body.error).toMatchObject({ code, path: 'Authorization' });
        expect(r.body.error.reason).toBe(reason ?? 'missing_token');
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="agdr"/);
      }
    }
    expect(await size(shard)).toBe(before);
  });

  it('refuses a valid token of a ServiceAccount not allowed to append with 403', async () => {
    const before = await size(shard);
    for (const [ns, sa] of [
      ['trading', 'intruder'],
      ['audit', 'reader'],
      ['tradingx', 'desk'],
    ] as const) {
      const r = await request<ApiError>(`${shard.url}/v1/decisions`, {
        body: oneDecision(),
        headers: bearer(token(ns, sa)),
      });
      expect(r.status).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'forbidden', reason: 'forbidden' });
      expect(r.body.error.message).toContain(`${ns}/${sa} may not append`);
    }
    expect(await size(shard)).toBe(before);
  });

  it('appends with a valid token of an allowed writer, and again with the same token', async () => {
    const t = token('trading', 'desk');
    const before = await size(shard);
    const first = await request(`${shard.url}/v1/decisions`, {
      body: oneDecision(),
      headers: bearer(t),
    });
    expect(first.status).toBe(201);
    const second = await request(`${shard.url}/v1/decisions`, {
      body: oneDecision(),
      headers: bearer(t),
    });
    expect(second.status).toBe(201);
    expect(await size(shard)).toBe(before + 2);
  });

  it('with authentication off, appends with or without any Authorization header', async () => {
    for (const headers of [{}, bearer('not-a-jwt'), { authorization: 'Basic dXNlcjpwYXNz' }]) {
      const r = await request(`${open.url}/v1/decisions`, { body: oneDecision(), headers });
      expect(r.status).toBe(201);
    }
    const read = await request(`${open.url}/v1/records/0`);
    expect(read.status).toBe(200);
  });
});

describe('reading', () => {
  it('serves records only to writers and readers; checkpoints, proofs, routing and probes stay open', async () => {
    await waitFor(async () => ((await size(shard)) > 0 ? true : undefined));
    expect((await request<ApiError>(`${shard.url}/v1/records/0`)).status).toBe(401);
    const byId = await request<ApiError>(`${shard.url}/v1/records?record_id=x`);
    expect(byId.status).toBe(401);
    expect(
      (await request(`${shard.url}/v1/records/0`, { headers: bearer(token('audit', 'anyone')) }))
        .status,
    ).toBe(200);
    expect(
      (await request(`${shard.url}/v1/records/0`, { headers: bearer(token('trading', 'desk')) }))
        .status,
    ).toBe(200);
    const denied = await request<ApiError>(`${shard.url}/v1/records/0`, {
      headers: bearer(token('trading', 'intruder')),
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('may not read');
    for (const open of [
      '/v1/checkpoint',
      '/v1/routing',
      '/v1/proofs/consistency?from=1&to=1',
      '/healthz',
      '/readyz',
      '/metrics',
    ])
      expect(
        (
          await waitFor(async () => {
            const r = await request(`${shard.url}${open}`);
            return r.status === 503 ? undefined : r;
          })
        ).status,
        open,
      ).toBe(200);
  });
});

describe('operations', () => {
  it('counts refusals by reason in /metrics and never logs a token', async () => {
    const metrics = (await request(`${shard.url}/metrics`)).text;
    const count = (reason: string, action: string): number =>
      Number(
        new RegExp(
          `agdr_shard_auth_failures_total\\{reason="${reason}",action="${action}",shard="0"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(count('missing_token', 'append')).toBe(4);
    expect(count('wrong_audience', 'append')).toBe(4);
    expect(count('forbidden', 'append')).toBe(3);
    expect(count('forbidden', 'read')).toBe(1);
    expect(count('missing_token', 'read')).toBe(2);
    const log = shard.stderr();
    expect(log).toContain('"reason":"forbidden"');
    expect(log).toContain('"subject":"trading/intruder"');
    // No JWS header (every token starts with it), no signature part.
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });

  it('takes rotated issuer keys from the file: old-key tokens are refused, new-key tokens accepted', async () => {
    const oldToken = token('trading', 'desk');
    issuer = testIssuer('key-2');
    const tmp = `${keysFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(issuer.document));
    fs.renameSync(tmp, keysFile);
    const newToken = token('trading', 'desk');
    const accepted = await waitFor(
      async () => {
        const r = await request(`${shard.url}/v1/decisions`, {
          body: oneDecision(),
          headers: bearer(newToken),
        });
        return r.status === 201 ? r : undefined;
      },
      10_000,
      'the new issuer key to be taken',
    );
    expect(accepted.status).toBe(201);
    const old = await request<ApiError>(`${shard.url}/v1/decisions`, {
      body: oneDecision(),
      headers: bearer(oldToken),
    });
    expect(old.status).toBe(401);
    expect(old.body.error.reason).toBe('unknown_key');
  });

  it('refuses to start without its issuer keys, and refuses flags it could not enforce', async () => {
    const base = { dataDir: path.join(dir, 'bad'), shardId: 0, routingFile };
    const missing = await runShardExpectingExit({
      ...base,
      args: [
        '--auth',
        'serviceAccountToken',
        '--auth-issuer-keys',
        path.join(dir, 'none.json'),
        '--allow-writer',
        'a',
      ],
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read the issuer keys');
    for (const [args, message] of [
      [['--reads', 'authenticated'], '--reads authenticated'],
      [['--auth', 'serviceAccountToken', '--auth-issuer-keys', keysFile], '--allow-writer'],
      [['--auth', 'serviceAccountToken', '--allow-writer', 'a'], '--auth-issuer-keys'],
      [['--auth', 'token'], '--auth'],
      [
        ['--auth', 'serviceAccountToken', '--auth-issuer-keys', keysFile, '--allow-writer', 'A/b'],
        '--allow-writer',
      ],
    ] as const) {
      const r = await runShardExpectingExit({ ...base, args: [...args] });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });
});
