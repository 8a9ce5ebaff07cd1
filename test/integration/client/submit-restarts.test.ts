// `agdr submit` across shard restarts: a stream keeps going while one shard is killed
// (SIGKILL) and another stopped (SIGTERM) and both come back on their ports; every decision is
// acknowledged exactly once and each shard's log holds exactly what it acknowledged.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decisions,
  freePort,
  getJson,
  initCluster,
  killAll,
  spawnAgdr,
  startShardOf,
  tempDir,
  waitFor,
} from '../e2e/harness.ts';
import type { AgdrProcess, ClusterFiles } from '../e2e/harness.ts';

let dir: string;
let files: ClusterFiles;
const ports: number[] = [];
const shards: AgdrProcess[] = [];
const N = 6000;

async function start(id: number): Promise<void> {
  shards[id] = (await startShardOf(files, id, ports[id])).proc;
}

beforeAll(async () => {
  dir = tempDir('submit-restarts');
  files = await initCluster(dir, 2);
  ports.push(await freePort(), await freePort());
  await Promise.all([start(0), start(1)]);
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Printed {
  line: number;
  record_id: string;
  shard_id: number;
  seq: number;
}

describe('agdr submit while shards restart', () => {
  it('loses nothing and duplicates nothing', async () => {
    const lines = decisions(N, 'restart').trim().split('\n');
    const list = ports.map((p, i) => `${i}=http://127.0.0.1:${p}`).join(',');
    const submit = spawnAgdr(['submit', '-', '--shards', list, '--json', '--retry-for', '90s']);
    const stdin = submit.child.stdin as NodeJS.WritableStream;
    const write = (from: number, to: number): void => {
      stdin.write(lines.slice(from, to).join('\n') + '\n');
    };
    write(0, 2000);
    await waitFor('the first receipts', async () =>
      submit.lines.length >= 500 ? true : undefined,
    );

    // One shard dies, the other is stopped; the stream goes on while both are down.
    await shards[1]?.kill('SIGKILL');
    await shards[0]?.kill('SIGTERM');
    write(2000, 4000);
    await new Promise((r) => setTimeout(r, 1500));
    await Promise.all([start(0), start(1)]);
    write(4000, N);
    stdin.end();
    expect(await submit.exited, submit.stderr()).toBe(0);
    expect(submit.stderr()).toContain(`${N} of ${N} decisions acknowledged`);

    // Every line acknowledged once, each at its own place in a log.
    const printed = submit.lines.map((l) => JSON.parse(l) as Printed);
    expect(printed).toHaveLength(N);
    expect(new Set(printed.map((p) => p.line)).size).toBe(N);
    for (const p of printed) expect(p.record_id).toBe(`restart-${p.line - 1}`);
    expect(new Set(printed.map((p) => `${p.shard_id}/${p.seq}`)).size).toBe(N);

    // Each log holds exactly what its shard acknowledged: no record appended twice.
    for (const id of [0, 1]) {
      const mine = printed.filter((p) => p.shard_id === id);
      expect(mine.length).toBeGreaterThan(0);
      const ready = await waitFor(`shard ${id} ready`, () =>
        getJson<{ tree_size: number }>(`http://127.0.0.1:${ports[id]}/readyz`),
      );
      expect(ready.tree_size).toBe(mine.length);
      expect(mine.map((p) => p.seq).sort((a, b) => a - b)).toEqual(mine.map((_, i) => i));
    }
  });
});
