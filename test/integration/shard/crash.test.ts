// SIGKILL during heavy batch ingest, restart, and nothing acknowledged is lost or changed.
// The soak version (>= 200 rounds) is `npx node bench/run.ts shard-crash`.
import { afterAll, expect, it } from 'vitest';
import { MerkleLog } from '../../../src/log-store/index.ts';
import path from 'node:path';
import { runCrashRounds } from './crash-harness.ts';
import { removeTempDirs, tempDir } from './shard-process.ts';

afterAll(() => removeTempDirs());

it('keeps every acknowledged receipt across SIGKILLs at random moments, and proofs verify', async () => {
  const dir = tempDir();
  const seed = Date.now() % 1_000_000;
  const results = await runCrashRounds({
    dir,
    rounds: 4,
    seed,
    clients: 3,
    batch: 400,
    minKillMs: 100,
    maxKillMs: 700,
  });
  const summary = { seed, results };
  expect(
    results.every((r) => r.lost === 0 && r.changed === 0),
    JSON.stringify(summary),
  ).toBe(true);
  expect(results.at(-1)?.acknowledged, JSON.stringify(summary)).toBeGreaterThan(0);
  expect(results.every((r) => r.proofsVerified > 0 || r.acknowledged === 0)).toBe(true);
  // The stopped log passes the full check (every record re-hashed, every tile recomputed).
  const log = await MerkleLog.open({ dir: path.join(dir, 'data', 'log'), fullCheck: true });
  expect(log.size).toBeGreaterThanOrEqual(results.at(-1)?.acknowledged ?? 0);
  await log.close();
});
