import { describe, expect, it } from 'vitest';
import { checkShard } from '../../../src/coordinator/shard-check.ts';
import type { ShardReader } from '../../../src/coordinator/shard-check.ts';
import { checkpointVerification } from '../../../src/coordinator/checkpoints.ts';
import { blake3 } from '../../../src/core/hash.ts';
import { consistencyProof, merkleRoot } from '../../../src/core/merkle/tree.ts';
import { shardOrigin, signCheckpoint } from '../../../src/core/checkpoint.ts';
import { verifierKeyString } from '../../../src/core/note.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';
import { utf8 } from '../../../src/core/bytes.ts';

const origin = shardOrigin('test', 'c1', 0);
const signer = ed25519SignerFromSeed(origin, new Uint8Array(32).fill(7));
const key = verifierKeyString(signer.name, signer.publicKey);
const otherSigner = ed25519SignerFromSeed(origin, new Uint8Array(32).fill(8));
const verification = checkpointVerification();
const signal = new AbortController().signal;

const leaves = (prefix: string, n: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => blake3.hashLeaf(utf8.encode(`${prefix}-${i}`)));

/** A shard serving a tree over `leafHashes`, signing with `by`. */
function shard(
  leafHashes: Uint8Array[],
  by = signer,
  opts: { failProof?: boolean; flipProof?: boolean } = {},
): ShardReader {
  return {
    latestCheckpoint: () =>
      signCheckpoint(
        { origin: by.name, size: leafHashes.length, rootHash: merkleRoot(blake3, leafHashes) },
        by,
      ),
    consistencyProof: (from, to) => {
      if (opts.failProof) return Promise.reject(new Error('ECONNRESET'));
      const proof = consistencyProof(blake3, leafHashes, from, to);
      const first = proof[0];
      if (opts.flipProof && first) first[0] = (first[0] as number) ^ 1;
      return Promise.resolve(proof);
    },
  };
}

const sealedAt = (leafHashes: Uint8Array[], size: number) => ({
  size,
  root: merkleRoot(blake3, leafHashes.slice(0, size)),
});

describe('checkShard', () => {
  const history = leaves('a', 20);

  it('accepts a first checkpoint, then growth proven by a consistency proof', async () => {
    const first = await checkShard(
      shard(history.slice(0, 5)),
      origin,
      [key],
      undefined,
      verification,
      signal,
    );
    expect(first).toMatchObject({ status: 'ok', checkpoint: { size: 5 }, consistency: [] });
    const grown = await checkShard(
      shard(history),
      origin,
      [key],
      sealedAt(history, 5),
      verification,
      signal,
    );
    expect(grown.status).toBe('ok');
    if (grown.status === 'ok') {
      expect(grown.checkpoint.size).toBe(20);
      expect(grown.consistency.length).toBeGreaterThan(0);
    }
    const same = await checkShard(
      shard(history),
      origin,
      [key],
      sealedAt(history, 20),
      verification,
      signal,
    );
    expect(same).toMatchObject({ status: 'ok', consistency: [] });
  });

  it('marks a rewritten (forked) history unverified', async () => {
    const forked = [...history.slice(0, 3), ...leaves('b', 17)];
    const r = await checkShard(
      shard(forked),
      origin,
      [key],
      sealedAt(history, 10),
      verification,
      signal,
    );
    expect(r).toMatchObject({
      status: 'unverified',
      reason: expect.stringMatching(/consistency from sealed size 10 to 20 failed/),
    });
    const sameSize = await checkShard(
      shard(forked.slice(0, 10)),
      origin,
      [key],
      sealedAt(history, 10),
      verification,
      signal,
    );
    expect(sameSize).toMatchObject({ status: 'unverified', reason: expect.stringMatching(/fork/) });
  });

  it('marks a shrunk tree and a tampered proof unverified', async () => {
    const shrunk = await checkShard(
      shard(history.slice(0, 4)),
      origin,
      [key],
      sealedAt(history, 10),
      verification,
      signal,
    );
    expect(shrunk).toMatchObject({ status: 'unverified', reason: expect.stringMatching(/shrank/) });
    const flipped = await checkShard(
      shard(history, signer, { flipProof: true }),
      origin,
      [key],
      sealedAt(history, 6),
      verification,
      signal,
    );
    expect(flipped.status).toBe('unverified');
  });

  it('rejects an untrusted signer, a wrong origin, and a shard with no trusted key', async () => {
    const untrusted = await checkShard(
      shard(history, otherSigner),
      origin,
      [key],
      undefined,
      verification,
      signal,
    );
    expect(untrusted).toMatchObject({
      status: 'unverified',
      reason: expect.stringMatching(/checkpoint rejected/),
    });
    const otherOrigin = shardOrigin('test', 'c1', 1);
    const wrong = await checkShard(
      shard(history),
      otherOrigin,
      [key],
      undefined,
      verification,
      signal,
    );
    expect(wrong.status).toBe('unverified');
    const none = await checkShard(shard(history), origin, [], undefined, verification, signal);
    expect(none).toMatchObject({
      status: 'unverified',
      reason: expect.stringMatching(/no trusted key/),
    });
  });

  it('reports a shard that does not answer as missing, not unverified', async () => {
    const down: ShardReader = {
      latestCheckpoint: () => Promise.reject(new Error('ECONNREFUSED')),
      consistencyProof: () => Promise.reject(new Error('ECONNREFUSED')),
    };
    expect(await checkShard(down, origin, [key], undefined, verification, signal)).toEqual({
      status: 'missing',
      reason: 'checkpoint fetch failed: ECONNREFUSED',
    });
    const noProof = await checkShard(
      shard(history, signer, { failProof: true }),
      origin,
      [key],
      sealedAt(history, 6),
      verification,
      signal,
    );
    expect(noProof).toMatchObject({
      status: 'missing',
      reason: expect.stringMatching(/consistency proof fetch failed/),
    });
  });
});
