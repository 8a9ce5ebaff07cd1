// The coordinator's read API and web browsers, on real `agdr coordinator` processes: a page of
// another origin cannot read the global log (403 `origin_not_allowed`), a DNS name rebound to
// the coordinator's address gets nothing (403 `host_not_allowed` / `origin_not_allowed`), and
// services and command-line clients (no Origin, no Sec-Fetch-Site) are served as before. The
// check is the shard's own (http-server/browser-guard.ts).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../../src/clients/coordinator-api.ts';
import { rawExchange } from '../raw-http.ts';
import { initCluster, killAll, startCoordinatorProcess, tempDir, waitFor } from '../e2e/harness.ts';
import type { ClusterFiles } from '../e2e/harness.ts';

let dir: string;
/** Started with no browser flags (the default). */
let plain: { url: string; port: number };
/** Started with --allow-origin https://console.example --allow-host coordinator.example. */
let configured: { url: string; port: number };

async function cluster(name: string): Promise<ClusterFiles> {
  return initCluster(path.join(dir, name), 1);
}

beforeAll(async () => {
  dir = tempDir('browsers');
  // No shard listens at port 1: rounds mark it missing and still seal global roots.
  plain = await startCoordinatorProcess(await cluster('plain'), 'http://127.0.0.1:1', [
    '--log-level',
    'warn',
  ]);
  configured = await startCoordinatorProcess(
    await cluster('configured'),
    'http://127.0.0.1:1',
    [
      ['--log-level', 'warn'],
      ['--allow-origin', 'https://console.example'],
      ['--allow-host', 'coordinator.example'],
    ].flat(),
  );
  for (const c of [plain, configured]) {
    await waitFor('a first global root', async () =>
      (await new CoordinatorClient(c.url, 2000).latestGlobalRoot()) !== undefined
        ? true
        : undefined,
    );
  }
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  code: string | undefined;
  path: string | undefined;
  message: string | undefined;
}

/** GET `target` with exactly these header lines (Host included), as a browser or a tool. */
async function get(url: string, target: string, headers: Record<string, string>): Promise<Answer> {
  const lines = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const res = await rawExchange(url, `GET ${target} HTTP/1.1\r\n${lines}Connection: close\r\n\r\n`);
  const error =
    res.status >= 400
      ? (JSON.parse(res.body) as { error: { code: string; path?: string; message: string } }).error
      : undefined;
  return { status: res.status, code: error?.code, path: error?.path, message: error?.message };
}

const brief = (a: Answer): [number, string | undefined, string | undefined] => [
  a.status,
  a.code,
  a.path,
];

describe('coordinator API and browsers', () => {
  it('by default refuses every browser request, reads and health alike, and serves tools by any Host', async () => {
    const host = `127.0.0.1:${plain.port}`;
    const cases: [
      string,
      Record<string, string>,
      [number, string | undefined, string | undefined],
    ][] = [
      // A page of another origin reading the global log (CORS would hide the answer, not stop the read).
      [
        '/v1/global-roots/latest',
        { host, origin: 'https://evil.example' },
        [403, 'origin_not_allowed', 'Origin'],
      ],
      ['/v1/missing', { host, origin: 'null' }, [403, 'origin_not_allowed', 'Origin']],
      ['/healthz', { host, origin: 'https://evil.example' }, [403, 'origin_not_allowed', 'Origin']],
      // DNS rebinding: a same-origin request under a name that now points at the coordinator.
      [
        '/v1/keys',
        { host: `evil.example:${plain.port}`, 'sec-fetch-site': 'same-origin' },
        [403, 'origin_not_allowed', 'Origin'],
      ],
      // Typed into the address bar: Sec-Fetch-Site none is the user's own navigation.
      ['/v1/global-roots/latest', { host, 'sec-fetch-site': 'none' }, [200, undefined, undefined]],
      // Services and tools: no browser headers, any Host (a Service name, a port-forward).
      ['/v1/global-roots/latest', { host }, [200, undefined, undefined]],
      ['/v1/shards', { host: 'agdr-coordinator.prod.svc:7070' }, [200, undefined, undefined]],
    ];
    for (const [target, headers, want] of cases) {
      const got = await get(plain.url, target, headers);
      expect([target, headers, brief(got)]).toEqual([target, headers, want]);
    }
    const refused = await get(plain.url, '/v1/keys', { host, origin: 'https://evil.example' });
    expect(refused.message).toBe(
      'requests from origin https://evil.example are not allowed (see --allow-origin)',
    );
  });

  it('with --allow-origin and --allow-host serves that origin by those names only', async () => {
    const port = configured.port;
    const cases: [Record<string, string>, [number, string | undefined, string | undefined]][] = [
      [
        { host: `coordinator.example:${port}`, origin: 'https://console.example' },
        [200, undefined, undefined],
      ],
      [
        { host: `127.0.0.1:${port}`, origin: 'https://console.example' },
        [200, undefined, undefined],
      ],
      [
        { host: `localhost:${port}`, origin: 'https://console.example' },
        [200, undefined, undefined],
      ],
      [
        { host: `coordinator.example:${port}`, origin: 'https://evil.example' },
        [403, 'origin_not_allowed', 'Origin'],
      ],
      // An allowed origin under a rebound name.
      [
        { host: `evil.example:${port}`, origin: 'https://console.example' },
        [403, 'host_not_allowed', 'Host'],
      ],
      // Once --allow-host is given, every client must name the coordinator by one of its names.
      [{ host: `evil.example:${port}` }, [403, 'host_not_allowed', 'Host']],
      [{ host: `coordinator.example:${port}` }, [200, undefined, undefined]],
      [{ host: `[::1]:${port}` }, [200, undefined, undefined]],
    ];
    for (const [headers, want] of cases) {
      const got = await get(configured.url, '/v1/global-roots/latest', headers);
      expect([headers, brief(got)]).toEqual([headers, want]);
    }
    const refused = await get(configured.url, '/v1/checkpoint', { host: `evil.example:${port}` });
    expect(refused.message).toBe(
      'this coordinator does not serve the host "evil.example" (see --allow-host)',
    );
  });
});
