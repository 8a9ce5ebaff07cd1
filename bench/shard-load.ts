// Load generator for `bench/shard.ts`, run as its own process so the shard and the client do
// not share an event loop. Usage:
//   node bench/shard-load.ts URL MODE CONCURRENCY SECONDS BATCH BYTES TAG
// MODE is `batch` (NDJSON, BATCH decisions per request) or `single` (one per request). Every
// decision has a fresh record_id (TAG-<n>), so nothing is deduplicated. Prints one JSON line.
import http from 'node:http';
import { decision } from '../test/integration/shard/shard-process.ts';

const [url, mode, concurrencyArg, secondsArg, batchArg, bytesArg, tag] = process.argv.slice(2);
if (url === undefined || (mode !== 'batch' && mode !== 'single') || tag === undefined) {
  throw new Error('usage: shard-load.ts URL batch|single CONCURRENCY SECONDS BATCH BYTES TAG');
}
const concurrency = Number(concurrencyArg);
const seconds = Number(secondsArg);
const batch = mode === 'batch' ? Number(batchArg) : 1;
const bytes = Number(bytesArg);
const target = new URL(mode === 'batch' ? '/v1/decisions:batch' : '/v1/decisions', url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

// One template decision; each line swaps in a fresh record_id (same length, so same size).
const template = JSON.stringify(decision(0, { tag: 'T', bytes }));
const [head, tail] = template.split('"record_id":"T-0"') as [string, string];
let next = 0;
function body(): string {
  let out = '';
  for (let i = 0; i < batch; i++) {
    const id = `${tag}-${String(next++).padStart(10, '0')}`;
    out += `${head}"record_id":"${id}"${tail}\n`;
  }
  return out;
}

function post(payload: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      target,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-ndjson',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const latencies: number[] = [];
let ok = 0;
let errors = 0;
const start = performance.now();
const stopAt = start + seconds * 1000;
async function client(): Promise<void> {
  while (performance.now() < stopAt) {
    const payload = body();
    const t0 = performance.now();
    try {
      const status = await post(payload);
      if (status === 200 || status === 201) ok++;
      else errors++;
    } catch {
      errors++;
    }
    latencies.push(performance.now() - t0);
  }
}
await Promise.all(Array.from({ length: concurrency }, client));
const elapsed = (performance.now() - start) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
process.stdout.write(
  JSON.stringify({
    mode,
    concurrency,
    batch,
    requests: ok + errors,
    decisions_per_s: Math.round((ok * batch) / elapsed),
    requests_per_s: Math.round((ok + errors) / elapsed),
    p50_ms: Math.round(pct(0.5) * 1000) / 1000,
    p99_ms: Math.round(pct(0.99) * 1000) / 1000,
    error_rate: ok + errors === 0 ? 0 : errors / (ok + errors),
    seconds: Math.round(elapsed * 100) / 100,
  }) + '\n',
);
agent.destroy();
