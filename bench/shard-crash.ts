// `npm run bench shard-crash [--quick]`: the crash soak. Heavy batch ingest into a real shard
// process, SIGKILL at random moments, restart, and every acknowledged receipt must come back
// with the same seq and leaf hash, with inclusion proofs verifying against a signed checkpoint.
// 200 rounds (10 with --quick); the seed is printed so a failing run can be replayed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchSuite } from './run.ts';
import { MerkleLog } from '../src/log-store/index.ts';
import { runCrashRounds } from '../test/integration/shard/crash-harness.ts';

export const run: BenchSuite = async ({ quick }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-bench-crash-'));
  const seed = Number(process.env.AGDR_CRASH_SEED ?? Date.now() % 1_000_000);
  const rounds = quick ? 10 : 200;
  const t0 = performance.now();
  process.stderr.write(`shard-crash: seed ${seed} (replay with AGDR_CRASH_SEED=${seed})\n`);
  try {
    const results = await runCrashRounds({
      dir,
      rounds,
      seed,
      clients: 4,
      batch: 500,
      minKillMs: 20,
      maxKillMs: 800,
      onRound: (r) => process.stderr.write(`shard-crash: ${JSON.stringify(r)}\n`),
    });
    const log = await MerkleLog.open({ dir: path.join(dir, 'data', 'log'), fullCheck: true });
    const finalSize = log.size;
    await log.close();
    const last = results.at(-1);
    return {
      seed,
      rounds: results.length,
      acknowledged_total: last?.acknowledged ?? 0,
      final_log_size: finalSize,
      rounds_with_loss: results.filter((r) => r.lost > 0).length,
      rounds_with_changed_receipts: results.filter((r) => r.changed > 0).length,
      proofs_verified: results.reduce((a, r) => a + r.proofsVerified, 0),
      full_check_after: 'passed',
      seconds: Math.round((performance.now() - t0) / 1000),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};
