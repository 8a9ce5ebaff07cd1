// Aggregation time of one coordinator round for 1, 10, 100 and 1,000 shards: fetch every
// shard's signed checkpoint and consistency proof over HTTP, verify them, build and sign the
// global root, append it durably and sign the global checkpoint. The shards are simulated by one
// HTTP server in a worker thread serving real trees and real signatures.
// Baseline (same run): fetching the same checkpoints over the same HTTP client and pool without
// verifying or sealing anything, i.e. the network floor of a round.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import type { BenchSuite } from './run.ts';
import { simSeed } from './coordinator-sim-shards.ts';
import type { SimConfig } from './coordinator-sim-shards.ts';
import { Coordinator } from '../src/coordinator/coordinator.ts';
import { getText } from '../src/clients/http.ts';
import { mapPool } from '../src/clients/pool.ts';
import { trustedKey } from '../src/clients/trust.ts';
import type { TrustBundle } from '../src/clients/trust.ts';
import { initialEpochTable } from '../src/cli/client/local-cluster.ts';
import { coordinatorOrigin, shardOrigin } from '../src/core/checkpoint.ts';
import { ed25519SignerFromSeed } from '../src/core/signer.ts';

const NS = 'bench';
const CLUSTER = 'sim';
const CONCURRENCY = 64;

interface Sim {
  port: number;
  advance(): Promise<void>;
  close(): Promise<void>;
}

async function startSim(cfg: SimConfig): Promise<Sim> {
  const worker = new Worker(new URL('./coordinator-sim-shards.ts', import.meta.url), {
    workerData: cfg,
  });
  const next = (): Promise<{ op: string; port?: number }> =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  const ready = await next();
  return {
    port: ready.port as number,
    async advance() {
      const p = next();
      worker.postMessage({ op: 'advance' });
      await p;
    },
    async close() {
      worker.postMessage({ op: 'close' });
      await worker.terminate();
    },
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

async function measure(shards: number, rounds: number): Promise<Record<string, number>> {
  const steps = rounds + 1;
  const sim = await startSim({ shards, step: 64, steps, namespace: NS, cluster: CLUSTER });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-bench-coord-'));
  try {
    const trust: TrustBundle = {
      version: 1,
      keys: Array.from({ length: shards }, (_, i) =>
        trustedKey('shard', ed25519SignerFromSeed(shardOrigin(NS, CLUSTER, i), simSeed(i)), i),
      ),
    };
    fs.writeFileSync(path.join(dir, 'trust.json'), JSON.stringify(trust));
    fs.writeFileSync(path.join(dir, 'routing.json'), JSON.stringify(initialEpochTable(shards)));
    const template = `http://127.0.0.1:${sim.port}/s/{i}`;
    const c = await Coordinator.open({
      namespace: NS,
      cluster: CLUSTER,
      dataDir: path.join(dir, 'coordinator'),
      shards: { kind: 'template', template },
      intervalMs: 60_000,
      trustFile: path.join(dir, 'trust.json'),
      routingFile: path.join(dir, 'routing.json'),
      signer: ed25519SignerFromSeed(coordinatorOrigin(NS, CLUSTER), new Uint8Array(32).fill(1)),
      host: '127.0.0.1',
      port: 0,
      concurrency: CONCURRENCY,
      shardTimeoutMs: 10_000,
      logger: pino({ level: 'silent' }),
    });
    // First round: first checkpoints (no consistency proofs yet) and warm connections.
    const first = await c.aggregate();
    if (Object.values(first.statuses).some((s) => s !== 'ok'))
      throw new Error('bench: a simulated shard did not verify');
    const roundMs: number[] = [];
    const fetchMs: number[] = [];
    const ids = Array.from({ length: shards }, (_, i) => i);
    for (let k = 0; k < rounds; k++) {
      await sim.advance();
      const r = await c.aggregate();
      if (Object.values(r.statuses).some((s) => s !== 'ok'))
        throw new Error('bench: a simulated shard did not verify');
      roundMs.push(r.durationMs);
      // Baseline: the same checkpoint fetches, nothing else.
      const t0 = performance.now();
      await mapPool(
        ids,
        (i, signal) =>
          getText(template.replace('{i}', String(i)) + '/v1/checkpoint', 10_000, signal),
        {
          concurrency: CONCURRENCY,
          itemTimeoutMs: 10_000,
          deadlineMs: Date.now() + 60_000,
          now: Date.now,
        },
      );
      fetchMs.push(performance.now() - t0);
    }
    await c.close();
    const round = median(roundMs);
    const fetch = median(fetchMs);
    return {
      shards,
      rounds,
      round_ms_p50: Math.round(round * 10) / 10,
      round_ms_max: Math.round(Math.max(...roundMs) * 10) / 10,
      baseline_fetch_checkpoints_ms_p50: Math.round(fetch * 10) / 10,
      ratio_round_to_fetch: Math.round((round / fetch) * 100) / 100,
    };
  } finally {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const run: BenchSuite = async ({ quick }) => {
  const results: Record<string, unknown> = {};
  for (const n of process.env.AGDR_BENCH_ONLY
    ? [Number(process.env.AGDR_BENCH_ONLY)]
    : [1, 10, 100, 1000]) {
    results[`shards_${n}`] = await measure(n, quick ? 2 : 5);
  }
  return { goal: 'round < 1000 ms at 1000 shards', concurrency: CONCURRENCY, ...results };
};
