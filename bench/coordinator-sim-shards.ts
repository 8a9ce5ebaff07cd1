// Simulated shard endpoints for the coordinator benchmark: one HTTP server (in a worker
// thread, so it does not share the coordinator's event loop) answering for N shards under
// /s/<i>/v1/checkpoint and /s/<i>/v1/proofs/consistency. Every shard is a real Merkle tree with
// real signed checkpoints; `advance` grows every shard by one step.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { blake3 } from '../src/core/hash.ts';
import { toHex, utf8 } from '../src/core/bytes.ts';
import { consistencyProof, merkleRoot } from '../src/core/merkle/tree.ts';
import { shardOrigin, signCheckpoint } from '../src/core/checkpoint.ts';
import { ed25519SignerFromSeed } from '../src/core/signer.ts';

export interface SimConfig {
  shards: number;
  /** Leaves each shard gains per step. */
  step: number;
  steps: number;
  namespace: string;
  cluster: string;
}

/** Deterministic per-shard seed, shared with the benchmark that builds the trust bundle. */
export function simSeed(shard: number): Uint8Array {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, shard + 1);
  return seed;
}

async function main(cfg: SimConfig): Promise<void> {
  // Precompute every answer so the server only writes strings.
  const notes: string[][] = [];
  const proofs: Map<string, string>[] = [];
  for (let s = 0; s < cfg.shards; s++) {
    const signer = ed25519SignerFromSeed(shardOrigin(cfg.namespace, cfg.cluster, s), simSeed(s));
    const leaves = Array.from({ length: cfg.step * cfg.steps }, (_, i) =>
      blake3.hashLeaf(utf8.encode(`${s}/${i}`)),
    );
    const perStep: string[] = [];
    const proofMap = new Map<string, string>();
    for (let k = 1; k <= cfg.steps; k++) {
      const size = k * cfg.step;
      perStep.push(
        await signCheckpoint(
          { origin: signer.name, size, rootHash: merkleRoot(blake3, leaves.slice(0, size)) },
          signer,
        ),
      );
      if (k > 1) {
        const from = (k - 1) * cfg.step;
        proofMap.set(
          `${from}-${size}`,
          JSON.stringify({
            from,
            to: size,
            hashes: consistencyProof(blake3, leaves, from, size).map(toHex),
          }),
        );
      }
    }
    notes.push(perStep);
    proofs.push(proofMap);
  }
  let step = 0;
  const server = http.createServer((req, res) => {
    const m = /^\/s\/(\d+)\/v1\/(checkpoint|proofs\/consistency)(?:\?from=(\d+)&to=(\d+))?$/.exec(
      req.url ?? '',
    );
    const s = m ? Number(m[1]) : -1;
    if (!m || s >= cfg.shards) {
      res.writeHead(404).end();
      return;
    }
    if (m[2] === 'checkpoint') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(notes[s]?.[step]);
      return;
    }
    const body = proofs[s]?.get(`${m[3]}-${m[4]}`);
    if (body === undefined) res.writeHead(400).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  parentPort?.on('message', (msg: { op: 'advance' } | { op: 'close' }) => {
    if (msg.op === 'advance') {
      step = Math.min(step + 1, cfg.steps - 1);
      parentPort?.postMessage({ op: 'advanced', step });
    } else {
      server.close();
      server.closeAllConnections();
      parentPort?.close();
    }
  });
  parentPort?.postMessage({ op: 'ready', port });
}

if (parentPort !== null) await main(workerData as SimConfig);
