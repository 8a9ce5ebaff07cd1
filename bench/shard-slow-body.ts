// `npm run bench shard-slow-body`: the shard's memory under a slow-body attack. N connections
// (default 12) each announce a batch body of 64 MiB, send 60 MiB of it and stall. The figures:
// the shard's RSS before, at the peak while the bodies arrive, 5 s and 13 s after the last byte
// was sent; how many of the attacking connections the shard has closed by then; and how long an
// honest batch takes meanwhile. Also reported: the answer to an over-limit Content-Length (and
// how many bytes were sent before it came), and to `Expect: 100-continue` over and under the
// limit. Everything runs on 127.0.0.1 against a real `agdr shard` process.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { BenchSuite } from './run.ts';
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
} from '../test/integration/shard/shard-process.ts';

const MiB = 1 << 20;

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  return Math.round(kb / 1024);
}

interface Attacker {
  socket: net.Socket;
  sent: number;
  closed: boolean;
  /** The status line of an answer, if the shard answered. */
  answer: string;
}

/** Opens a connection that announces `announced` bytes and sends `send` of them. */
function attack(url: URL, announced: number, send: number): Promise<Attacker> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(url.port), url.hostname);
    const a: Attacker = { socket, sent: 0, closed: false, answer: '' };
    socket.on('data', (c: Buffer) => {
      if (a.answer === '') a.answer = c.toString('latin1').split('\r\n')[0] ?? '';
    });
    socket.on('error', () => undefined);
    // A shard that stops reading leaves the rest unsent: the attacker then just holds on.
    setTimeout(() => resolve(a), 20_000).unref();
    socket.on('close', () => {
      a.closed = true;
      resolve(a);
    });
    socket.on('connect', () => {
      socket.write(
        `POST /v1/decisions:batch HTTP/1.1\r\nHost: ${url.host}\r\n` +
          `Content-Type: application/x-ndjson\r\nContent-Length: ${announced}\r\n\r\n`,
      );
      const chunk = Buffer.alloc(MiB, 0x20);
      const pump = (): void => {
        while (a.sent < send && !a.closed) {
          const n = Math.min(chunk.length, send - a.sent);
          a.sent += n;
          if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
            socket.once('drain', pump);
            return;
          }
        }
        if (a.sent >= send) resolve(a);
      };
      pump();
    });
  });
}

/** Sends a head with `extra` headers, returns the first status line and when it came. */
function headOnly(url: URL, extra: string): Promise<{ status: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = net.connect(Number(url.port), url.hostname, () =>
      socket.write(`POST /v1/decisions:batch HTTP/1.1\r\nHost: ${url.host}\r\n${extra}\r\n`),
    );
    const done = (status: string): void => {
      socket.destroy();
      resolve({ status, ms: Math.round(performance.now() - t0) });
    };
    socket.on('data', (c: Buffer) => done(c.toString('latin1').split('\r\n')[0] ?? ''));
    socket.on('error', () => done('(connection error)'));
    socket.on('close', () => done('(closed without an answer)'));
    setTimeout(() => done('(no answer in 3 s)'), 3000);
  });
}

export const run: BenchSuite = async ({ quick }) => {
  const connections = quick ? 4 : 12;
  const dir = tempDir('agdr-slow-body-');
  const table = epochTable(1);
  const routingFile = writeRouting(dir, table);
  let shard: ShardProcess | undefined;
  try {
    shard = await startShardProcess({ dataDir: path.join(dir, 'data'), shardId: 0, routingFile });
    const pid = shard.child.pid as number;
    const url = new URL(shard.url);
    const honest = ndjson(decisionsFor(table, 0, 100, { tag: 'honest' }));
    await request(`${shard.url}/v1/decisions:batch`, {
      body: honest,
      type: 'application/x-ndjson',
    });
    const rssBefore = rssMiB(pid);

    const overLimit = await headOnly(
      url,
      `Content-Type: application/x-ndjson\r\nContent-Length: ${65 * MiB}\r\n`,
    );
    const expectOver = await headOnly(
      url,
      `Content-Type: application/x-ndjson\r\nContent-Length: ${65 * MiB}\r\nExpect: 100-continue\r\n`,
    );
    const expectUnder = await headOnly(
      url,
      `Content-Type: application/x-ndjson\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n`,
    );

    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
    const t0 = performance.now();
    const attackers = await Promise.all(
      Array.from({ length: connections }, () => attack(url, 64 * MiB, 60 * MiB)),
    );
    const sendMs = Math.round(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5000));
    const rssAfter5s = rssMiB(pid);
    const closedAfter5s = attackers.filter((a) => a.closed).length;
    const t1 = performance.now();
    const honestAnswer = await request(`${shard.url}/v1/decisions:batch`, {
      body: ndjson(decisionsFor(table, 0, 100, { tag: 'honest-2' })),
      type: 'application/x-ndjson',
    });
    const honestMs = Math.round(performance.now() - t1);
    // Past the shard's default body timeout (10 s) from the last byte sent.
    await new Promise((r) => setTimeout(r, 8000));
    clearInterval(sampler);
    const rssAfter13s = rssMiB(pid);
    const result = {
      connections,
      announced_mib: 64,
      sent_mib_each: attackers.map((a) => Math.round(a.sent / MiB)),
      closed_by_shard_within_5s: closedAfter5s,
      closed_by_shard_within_13s: attackers.filter((a) => a.closed).length,
      answers: [...new Set(attackers.map((a) => a.answer || '(none)'))],
      send_ms: sendMs,
      rss_mib: {
        before: rssBefore,
        peak,
        after_5s: rssAfter5s,
        after_13s: rssAfter13s,
        growth_peak: peak - rssBefore,
      },
      honest_batch_during_attack: { status: honestAnswer.status, ms: honestMs },
      over_limit_content_length: overLimit,
      expect_100_over_limit: expectOver,
      expect_100_under_limit: expectUnder,
    };
    for (const a of attackers) a.socket.destroy();
    return result;
  } finally {
    await shard?.kill();
    removeTempDirs();
  }
};
