// Crash harness: heavy batch ingest into a real shard process, SIGKILL at a random moment,
// restart on the same data, and check that every acknowledged receipt is still there with the
// same seq and leaf hash (by re-submitting the acknowledged decisions: the idempotent path
// returns the stored receipt) and that inclusion proofs of a sample verify against a signed
// checkpoint. Used by the integration test (a few rounds) and the soak bench (hundreds).
import path from 'node:path';
import { fromHex, toHex } from '../../../src/core/bytes.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { verifyInclusion } from '../../../src/core/merkle/proof.ts';
import { defaultKeyPointers, type EpochTable } from '../../../src/core/routing.ts';
import {
  decision,
  ndjson,
  request,
  startShardProcess,
  signedCheckpoint,
  writeRouting,
  type ShardProcess,
} from './shard-process.ts';

interface Receipt {
  seq: number;
  leaf_hash: string;
  record_id: string;
}

export interface CrashOptions {
  dir: string;
  rounds: number;
  seed: number;
  /** Concurrent ingest clients and decisions per batch request. */
  clients?: number;
  batch?: number;
  /** Kill after a uniformly random delay in [minKillMs, maxKillMs). */
  minKillMs?: number;
  maxKillMs?: number;
  /** Inclusion proofs checked per round (a sample of the acknowledged records). */
  proofsPerRound?: number;
  onRound?: (r: RoundResult) => void;
}

export interface RoundResult {
  round: number;
  killAfterMs: number;
  acknowledged: number;
  /** Receipts re-checked after this restart. */
  checked: number;
  sizeAfterRestart: number;
  lost: number;
  changed: number;
  proofsVerified: number;
}

/** mulberry32: a small seeded PRNG so a failing round can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every acknowledged receipt, compactly (a soak acknowledges millions): the decision's number
 * (its record_id is `TAG-<number>` and `decision(number, {tag})` rebuilds it), the seq and the
 * leaf hash, in growable typed arrays (48 bytes per receipt, no object each).
 */
class AckedLog {
  length = 0;
  #numbers = new Float64Array(1024);
  #seqs = new Float64Array(1024);
  #hashes = new Uint8Array(1024 * 32);

  push(number: number, receipt: Receipt): void {
    if (this.length === this.#seqs.length) {
      const grow = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.#numbers = grow(this.#numbers, (n) => new Float64Array(n));
      this.#seqs = grow(this.#seqs, (n) => new Float64Array(n));
      this.#hashes = grow(this.#hashes, (n) => new Uint8Array(n));
    }
    this.#numbers[this.length] = number;
    this.#seqs[this.length] = receipt.seq;
    this.#hashes.set(fromHex(receipt.leaf_hash), this.length * 32);
    this.length++;
  }

  number(k: number): number {
    return this.#numbers[k] as number;
  }

  seq(k: number): number {
    return this.#seqs[k] as number;
  }

  leafHash(k: number): Uint8Array {
    return this.#hashes.subarray(k * 32, k * 32 + 32);
  }
}

/** Older acknowledged receipts re-checked per round (all of them in the last round). */
const OLD_SAMPLE = 2000;

export async function runCrashRounds(o: CrashOptions): Promise<RoundResult[]> {
  const table: EpochTable = {
    epochs: [
      {
        epoch: 0,
        strategy: 'hash-by-entity',
        key_pointers: defaultKeyPointers('hash-by-entity'),
        bucket: 'jump',
        shards: 1,
        params: {},
        effective_from_ns: '0',
      },
    ],
  };
  const routingFile = writeRouting(o.dir, table);
  const dataDir = path.join(o.dir, 'data');
  const random = prng(o.seed);
  const clients = o.clients ?? 4;
  const batch = o.batch ?? 500;
  const results: RoundResult[] = [];
  const start = (): Promise<ShardProcess> =>
    startShardProcess({
      dataDir,
      shardId: 0,
      routingFile,
      args: ['--checkpoint-interval', '100ms'],
    });
  // Every acknowledged decision so far with its receipt. After each restart the ones acknowledged
  // since the previous check are all re-checked, older ones by a sample; the last round checks all.
  const tag = `c${o.seed}`;
  const acked = new AckedLog();
  let checkedUpTo = 0;
  let next = 0;
  let shard = await start();
  try {
    for (let round = 0; round < o.rounds; round++) {
      const killAfterMs =
        (o.minKillMs ?? 50) + random() * ((o.maxKillMs ?? 600) - (o.minKillMs ?? 50));
      let killed = false;
      let firstAck = (): void => undefined;
      const acknowledged = new Promise<void>((resolve) => (firstAck = resolve));
      const ingest = async (): Promise<void> => {
        while (!killed) {
          // The one-shard table routes every decision here: numbers first .. first + batch - 1.
          const first = next;
          next += batch;
          const ds = Array.from({ length: batch }, (_, i) => decision(first + i, { tag }));
          let res;
          try {
            res = await request<{ receipts: Receipt[] }>(`${shard.url}/v1/decisions:batch`, {
              body: ndjson(ds),
            });
          } catch {
            return; // connection reset by the kill: this batch was never acknowledged
          }
          if (res.status !== 200)
            throw new Error(
              `batch got ${res.status}: ${res.text.slice(0, 300)}\nshard stderr: ${shard.stderr().slice(-4000)}`,
            );
          res.body.receipts.forEach((receipt, i) => acked.push(first + i, receipt));
          firstAck();
        }
      };
      const workers = Array.from({ length: clients }, ingest);
      // On a loaded machine one batch can take longer than the whole kill window, and a run that
      // never acknowledges anything checks nothing: until something is acknowledged, the kill
      // window starts at the round's first acknowledgement.
      if (acked.length === 0) await Promise.race([acknowledged, Promise.all(workers)]);
      await new Promise((r) => setTimeout(r, killAfterMs));
      killed = true;
      await shard.kill();
      await Promise.all(workers);
      shard = await start();
      const last = round === o.rounds - 1;
      const sample = Array.from({ length: Math.min(OLD_SAMPLE, checkedUpTo) }, () =>
        Math.floor(random() * checkedUpTo),
      );
      const from = last ? 0 : checkedUpTo;
      const toCheck = [...(last ? [] : sample)];
      for (let k = from; k < acked.length; k++) toCheck.push(k);
      checkedUpTo = acked.length;
      results.push(await checkRound(shard, { round, killAfterMs, tag }, acked, toCheck, o, random));
      o.onRound?.(results.at(-1) as RoundResult);
    }
  } finally {
    await shard.stop();
  }
  return results;
}

async function checkRound(
  shard: ShardProcess,
  at: { round: number; killAfterMs: number; tag: string },
  acked: AckedLog,
  toCheck: readonly number[],
  o: CrashOptions,
  random: () => number,
): Promise<RoundResult> {
  let lost = 0;
  let changed = 0;
  const size = shard.info.size;
  // Re-submit acknowledged decisions: each must come back as the same receipt, and the log
  // must not grow (nothing appended twice).
  for (let i = 0; i < toCheck.length; i += 2000) {
    const chunk = toCheck.slice(i, i + 2000);
    const res = await request<{ receipts: Receipt[] }>(`${shard.url}/v1/decisions:batch`, {
      body: ndjson(chunk.map((k) => decision(acked.number(k), { tag: at.tag }))),
    });
    if (res.status !== 200)
      throw new Error(
        `re-submit got ${res.status}: ${res.text.slice(0, 300)}\nshard stderr: ${shard.stderr().slice(-4000)}`,
      );
    res.body.receipts.forEach((r, j) => {
      const k = chunk[j] as number;
      if (r.seq >= size) lost++;
      else if (r.seq !== acked.seq(k) || r.leaf_hash !== toHex(acked.leafHash(k))) changed++;
    });
  }
  const after = (await request<{ tree_size: number }>(`${shard.url}/readyz`)).body.tree_size;
  if (after !== size) lost += after - size;
  // Inclusion proofs of a sample against a signed checkpoint covering the whole log.
  const { cp } = await signedCheckpoint(shard, size);
  let verified = 0;
  for (let j = 0; j < Math.min(o.proofsPerRound ?? 20, acked.length); j++) {
    const k = Math.floor(random() * acked.length);
    const seq = acked.seq(k);
    const p = await request<{ hashes: string[] }>(
      `${shard.url}/v1/proofs/inclusion?index=${seq}&size=${cp.size}`,
    );
    verifyInclusion(
      blake3Reference,
      seq,
      cp.size,
      acked.leafHash(k),
      p.body.hashes.map(fromHex),
      cp.rootHash,
    );
    verified++;
  }
  return {
    round: at.round,
    killAfterMs: Math.round(at.killAfterMs),
    acknowledged: acked.length,
    checked: toCheck.length,
    sizeAfterRestart: size,
    lost,
    changed,
    proofsVerified: verified,
  };
}
