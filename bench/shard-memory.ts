// `npm run bench shard-memory [--quick]`: memory of the durable log as it grows. Appends 50M
// envelopes of a 256-byte decision in-process (2M with --quick) and reports RSS (and its
// anonymous / file-backed parts) after 1M (200k) records and at the end. The log keeps only an
// O(log n) frontier in memory; proofs read tiles from disk. Needs ~20 GB of free disk for 50M.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchSuite } from './run.ts';
import { MerkleLog } from '../src/log-store/index.ts';
import { canonicalDecision256, envelopeBuilder } from './shard.ts';

function memory(): {
  rss_mib: number;
  rss_anon_mib: number;
  rss_file_mib: number;
  heap_used_mib: number;
} {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (name: string): number =>
    Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {
    rss_mib: Math.round(kb('VmRSS') / 1024),
    rss_anon_mib: Math.round(kb('RssAnon') / 1024),
    rss_file_mib: Math.round(kb('RssFile') / 1024),
    heap_used_mib: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
}

export const run: BenchSuite = async ({ quick }) => {
  const total = quick ? 2_000_000 : 50_000_000;
  const checkpointAt = quick ? 200_000 : 1_000_000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-bench-mem-'));
  const build = envelopeBuilder(canonicalDecision256());
  const log = await MerkleLog.open({ dir });
  const call = 1000;
  const builders = Array.from({ length: call }, () => build);
  let issued = 0;
  let early: ReturnType<typeof memory> | undefined;
  const t0 = performance.now();
  try {
    const client = async (): Promise<void> => {
      while (issued < total) {
        issued += call;
        await log.append(builders);
        if (early === undefined && log.size >= checkpointAt) early = memory();
        if (log.size % 5_000_000 < call)
          process.stderr.write(`shard-memory: ${log.size} records, ${JSON.stringify(memory())}\n`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, client));
    const end = memory();
    const size = log.size;
    // A proof at the final size still comes from disk.
    const p0 = performance.now();
    await log.inclusionProof(Math.floor(size / 3), size);
    const proofMs = performance.now() - p0;
    await log.close();
    return {
      records: size,
      seconds: Math.round((performance.now() - t0) / 1000),
      disk_bytes: du(dir),
      at_early: { records: checkpointAt, ...early },
      at_end: { records: size, ...end },
      ratio_rss_end_to_early: Math.round((end.rss_mib / (early?.rss_mib ?? 1)) * 1000) / 1000,
      ratio_rss_anon_end_to_early:
        Math.round((end.rss_anon_mib / (early?.rss_anon_mib ?? 1)) * 1000) / 1000,
      inclusion_proof_ms_at_end: Math.round(proofMs * 1000) / 1000,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

function du(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return total;
}
