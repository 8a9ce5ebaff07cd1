// `agdr submit` of a large file stays at flat memory: 200,000 SDK-shaped decisions (~200 MB,
// Python json.dumps lines) from a file into `agdr local` with 4 shards, every one acknowledged,
// with the client's peak RSS (VmHWM) under 200 MiB while it runs from the TypeScript sources
// (node strips the types itself, ~40 MiB of that). The same run over a 2 GB file is the bench's
// `client-memory` step (docs/TESTING.md), too slow for every `npm test`.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchProcess } from '../../fixtures/proc-stats.ts';
import { writeSdkFile } from '../../fixtures/sdk-file.ts';
import { killAll, spawnAgdr, startLocal, tempDir } from '../e2e/harness.ts';
import type { LocalInfo } from '../e2e/harness.ts';

const N = 200_000;
let dir: string;
let file: string;
let info: LocalInfo;

beforeAll(async () => {
  dir = tempDir('submit-memory');
  file = path.join(dir, 'decisions.ndjson');
  await writeSdkFile(file, N, 'mem');
  ({ info } = await startLocal(path.join(dir, 'local'), 4));
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('agdr submit memory', () => {
  it('submits 200,000 decisions (~200 MB) with peak RSS under 200 MiB', async () => {
    expect(fs.statSync(file).size).toBeGreaterThan(190_000_000);
    const submit = spawnAgdr(['submit', file, '--coordinator', info.coordinator]);
    const watch = watchProcess(submit.child.pid as number);
    const code = await submit.exited;
    const use = watch.stop();
    expect(code, submit.stderr()).toBe(0);
    expect(submit.stderr()).toContain(`${N} of ${N} decisions acknowledged (durable)`);
    // Every shard took its share (the routing keys spread over 1,000 entities).
    for (const shard of [0, 1, 2, 3])
      expect(submit.stderr()).toMatch(new RegExp(`shard ${shard}: \\d{5}`));
    expect(use.peakRssMiB).toBeGreaterThan(0);
    expect(use.peakRssMiB).toBeLessThan(200);
  }, 600_000);
});
