// The shard bench's load generator: its HTTP/1.1 connection against a real Node HTTP server on
// 127.0.0.1, and the generator itself against a real `agdr shard` process (what it reports
// acknowledged must be what the shard's log holds).
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Http1Connection, requestHead } from '../../../bench/http1-connection.ts';
import {
  ROOT,
  epochTable,
  removeTempDirs,
  request,
  startShardProcess,
  tempDir,
  writeRouting,
} from './shard-process.ts';

afterAll(() => removeTempDirs());

/** A real HTTP server on 127.0.0.1 whose handler the test chooses; closed after `body`. */
async function withServer(
  handler: http.RequestListener,
  body: (url: URL) => Promise<void>,
): Promise<void> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await body(new URL(`http://127.0.0.1:${port}/echo`));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function post(url: URL, body: string): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([
    requestHead('POST', url, { 'Content-Type': 'text/plain' }, bytes.length),
    bytes,
  ]);
}

describe('Http1Connection', () => {
  it('reads status and whole bodies of any size, several requests on one connection', async () => {
    const seen: string[] = [];
    await withServer(
      (req, res) => {
        let text = '';
        req.setEncoding('utf8').on('data', (c: string) => (text += c));
        req.on('end', () => {
          seen.push(text);
          // The response size is asked for in the body; a large one arrives over many reads.
          const size = Number(text.split(' ')[1]);
          res.writeHead(Number(text.split(' ')[0]), { 'Content-Length': size });
          const chunk = Buffer.alloc(Math.min(size, 4096), 0x61);
          for (let sent = 0; sent < size; sent += chunk.length)
            res.write(chunk.subarray(0, Math.min(chunk.length, size - sent)));
          res.end();
        });
      },
      async (url) => {
        const c = new Http1Connection(url);
        try {
          expect(await c.send(post(url, '200 0'))).toBe(200);
          expect(await c.send(post(url, '201 5'))).toBe(201);
          expect(await c.send(post(url, '200 3000000'))).toBe(200);
          expect(await c.send(post(url, '413 17'))).toBe(413);
          expect(await c.send(post(url, '200 1'))).toBe(200);
        } finally {
          c.close();
        }
      },
    );
    expect(seen).toEqual(['200 0', '201 5', '200 3000000', '413 17', '200 1']);
  });

  it('fails a request whose response has no Content-Length, and one the server drops', async () => {
    await withServer(
      (req, res) => {
        req.resume();
        req.on('end', () => {
          if (req.headers['content-length'] === '7') {
            req.socket.destroy();
            return;
          }
          // No Content-Length: Node answers with chunked transfer encoding.
          res.writeHead(200);
          res.write('part');
          res.end();
        });
      },
      async (url) => {
        const chunked = new Http1Connection(url);
        await expect(chunked.send(post(url, 'x'))).rejects.toThrow('chunked response');
        chunked.close();
        const dropped = new Http1Connection(url);
        await expect(dropped.send(post(url, 'dropped'))).rejects.toThrow('connection closed');
        // The connection stays failed: nothing more is sent on it.
        await expect(dropped.send(post(url, 'x'))).rejects.toThrow('connection closed');
        dropped.close();
      },
    );
  });
});

describe('bench/shard-load.ts against a real shard', () => {
  it('reports as acknowledged exactly what the shard appended, in both modes', async () => {
    const dir = tempDir();
    const shard = await startShardProcess({
      dataDir: path.join(dir, 'data'),
      shardId: 0,
      routingFile: writeRouting(dir, epochTable(1)),
    });
    try {
      interface LoadResult {
        decisions: number;
        error_rate: number;
      }
      const load = async (...args: string[]): Promise<LoadResult> => {
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [path.join(ROOT, 'bench/shard-load.ts'), shard.url, ...args],
          { cwd: ROOT, timeout: 30_000 },
        );
        return JSON.parse(stdout) as LoadResult;
      };
      const size = async (): Promise<number> =>
        (await request<{ tree_size: number }>(`${shard.url}/readyz`)).body.tree_size;

      const batch = await load('batch', '2', '0.5', '200', '1000', 'lg');
      expect(batch.error_rate).toBe(0);
      expect(batch.decisions).toBeGreaterThan(0);
      expect(batch.decisions % 200).toBe(0);
      expect(await size()).toBe(batch.decisions);

      const single = await load('single', '2', '0.3', '1', '1000', 'ls');
      expect(single.error_rate).toBe(0);
      expect(await size()).toBe(batch.decisions + single.decisions);

      // The same tag again: the same record_ids from the start, each already stored answered
      // with its original (on a loaded machine the repeat may run past the first run's count:
      // only those ids are new).
      const again = await load('batch', '1', '0.2', '200', '1000', 'lg');
      expect(again.error_rate).toBe(0);
      expect(again.decisions).toBeGreaterThan(0);
      const fresh = Math.max(0, again.decisions - batch.decisions);
      expect(await size()).toBe(batch.decisions + single.decisions + fresh);
    } finally {
      await shard.stop();
    }
  });
});
