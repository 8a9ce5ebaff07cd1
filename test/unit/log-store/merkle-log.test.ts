import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesEqual, toBase64, utf8 } from '../../../src/core/bytes.ts';
import { blake3, blake3Reference, sha256 } from '../../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../../src/core/merkle/proof.ts';
import { consistencyProof, inclusionProof, merkleRoot } from '../../../src/core/merkle/tree.ts';
import { LogStoreError, MerkleLog } from '../../../src/log-store/index.ts';
import { entries, entry, tempDir } from './fixtures.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A C2SP checkpoint body for the log's current root (unsigned: the store keeps any note). */
function note(origin: string, size: number, root: Uint8Array): string {
  return `${origin}\n${size}\n${toBase64(root)}\n\n— test AAAAAAAA\n`;
}

describe('MerkleLog append and read', () => {
  it('assigns consecutive sequence numbers in call order and reads the bytes back', async () => {
    const log = await MerkleLog.open({ dir: tempDir() });
    const calls = [
      log.append(entries(3, 'a')),
      log.append(entries(2, 'b')),
      log.append([entry('c')]),
    ];
    const receipts = await Promise.all(calls);
    expect(receipts.map((r) => r.map((x) => x.seq))).toEqual([[0, 1, 2], [3, 4], [5]]);
    expect(log.size).toBe(6);
    expect(utf8.decode(await log.read(4))).toBe('b:4:' + 'x'.repeat(4));
    for (const r of receipts.flat()) {
      const data = await log.read(r.seq);
      expect(hex(r.leafHash)).toBe(hex(blake3Reference.hashLeaf(data)));
      expect(hex(await log.leafHash(r.seq))).toBe(hex(r.leafHash));
    }
    await log.close();
  });

  it('rejects a call whose builder throws without consuming sequence numbers', async () => {
    const log = await MerkleLog.open({ dir: tempDir() });
    const bad = log.append([
      entry(),
      () => {
        throw new Error('no bytes for you');
      },
    ]);
    const good = log.append([entry('g')]);
    await expect(bad).rejects.toThrow('no bytes for you');
    expect((await good).map((r) => r.seq)).toEqual([0]);
    expect(log.size).toBe(1);
    await log.close();
  });

  it('refuses reads and proofs beyond the durable size with out_of_range', async () => {
    const log = await MerkleLog.open({ dir: tempDir() });
    await log.append(entries(4));
    const codes = await Promise.all(
      [
        log.read(4),
        log.leafHash(-1),
        log.rootAt(5),
        log.inclusionProof(4, 4),
        log.consistencyProof(0, 3),
      ].map((p) =>
        p.then(
          () => 'ok',
          (e: unknown) => (e instanceof LogStoreError ? e.code : String(e)),
        ),
      ),
    );
    expect(codes).toEqual(Array(5).fill('out_of_range'));
    await log.close();
  });

  it('splits records over segment files and reads across the boundary', async () => {
    const dir = tempDir();
    const log = await MerkleLog.open({ dir, segmentRecords: 5, maxBatchEntries: 3 });
    await Promise.all(Array.from({ length: 13 }, () => log.append([entry()])));
    expect(fs.readdirSync(path.join(dir, 'records')).sort()).toEqual([
      '0000000000000000.seg',
      '0000000000000005.seg',
      '0000000000000010.seg',
    ]);
    for (let seq = 0; seq < 13; seq++) {
      expect(utf8.decode(await log.read(seq))).toBe(`e:${seq}:${'x'.repeat(seq % 37)}`);
    }
    await log.close();
    // The segment size is fixed at creation; a later option does not change it.
    const again = await MerkleLog.open({ dir, segmentRecords: 1000 });
    expect(utf8.decode(await again.read(12))).toBe(`e:12:${'x'.repeat(12)}`);
    await again.close();
  });
});

describe('MerkleLog roots and proofs from stored tiles', () => {
  // Sizes around tile boundaries (256 leaves = one level-1 node) and odd shapes.
  const N = 2 * 256 * 2 + 77;
  const sizes = [1, 2, 3, 7, 255, 256, 257, 511, 512, 513, 1024, N];

  it('match the in-memory RFC 9162 reference and verify (BLAKE3)', async () => {
    const log = await MerkleLog.open({ dir: tempDir(), maxBatchEntries: 100 });
    const receipts = (
      await Promise.all(Array.from({ length: N / 7 + 1 }, () => log.append(entries(7))))
    ).flat();
    const leaves = receipts.map((r) => r.leafHash);
    expect(log.size).toBe(leaves.length);
    expect(hex(log.root())).toBe(hex(merkleRoot(blake3Reference, leaves)));
    for (const size of sizes) {
      const root = await log.rootAt(size);
      expect(hex(root)).toBe(hex(merkleRoot(blake3Reference, leaves.slice(0, size))));
      for (const index of new Set([0, size - 1, Math.floor(size / 2), Math.floor(size / 3)])) {
        const proof = await log.inclusionProof(index, size);
        expect(proof.map(hex)).toEqual(
          inclusionProof(blake3Reference, leaves, index, size).map(hex),
        );
        verifyInclusion(blake3Reference, index, size, leaves[index] as Uint8Array, proof, root);
      }
      for (const from of new Set([1, 2, 3, 255, 256, 257, 300, size])) {
        if (from > size) continue;
        const proof = await log.consistencyProof(from, size);
        expect(proof.map(hex)).toEqual(
          consistencyProof(blake3Reference, leaves, from, size).map(hex),
        );
        verifyConsistency(blake3Reference, from, size, proof, await log.rootAt(from), root);
      }
    }
    await log.close();
  });

  it('works with another hasher (SHA-256), recorded in meta.json', async () => {
    const dir = tempDir();
    const log = await MerkleLog.open({ dir, hasher: sha256 });
    const leaves = (await log.append(entries(300))).map((r) => r.leafHash);
    expect(hex(log.root())).toBe(hex(merkleRoot(sha256, leaves)));
    await log.close();
    await expect(MerkleLog.open({ dir, hasher: blake3 })).rejects.toMatchObject({
      code: 'incompatible',
    });
  });

  it('keeps the same root, proofs and records after close and reopen', async () => {
    const dir = tempDir();
    const log = await MerkleLog.open({ dir });
    const leaves = (await log.append(entries(1000))).map((r) => r.leafHash);
    const proof = await log.inclusionProof(123, 900);
    await log.close();
    const again = await MerkleLog.open({ dir });
    expect(again.size).toBe(1000);
    expect(hex(again.root())).toBe(hex(merkleRoot(blake3Reference, leaves)));
    expect((await again.inclusionProof(123, 900)).map(hex)).toEqual(proof.map(hex));
    // Appending continues the same tree.
    const more = (await again.append(entries(30))).map((r) => r.leafHash);
    expect(hex(again.root())).toBe(hex(merkleRoot(blake3Reference, [...leaves, ...more])));
    await again.close();
  });
});

describe('MerkleLog checkpoints', () => {
  it('keeps the history by size and the latest, across reopen', async () => {
    const dir = tempDir();
    const log = await MerkleLog.open({ dir });
    await log.append(entries(10));
    const n10 = note('example.org/log', 10, log.root());
    await log.saveCheckpoint(10, n10);
    await log.append(entries(5));
    const n15 = note('example.org/log', 15, log.root());
    await log.saveCheckpoint(15, n15);
    await log.saveCheckpoint(15, n15); // repeat of the latest: no-op
    expect(await log.checkpointAt(10)).toBe(n10);
    expect(await log.checkpointAt(12)).toBeUndefined();
    expect(await log.latestCheckpoint()).toEqual({ size: 15, note: n15 });
    await expect(log.saveCheckpoint(12, 'x')).rejects.toMatchObject({ code: 'bad_argument' });
    await expect(log.saveCheckpoint(16, 'x')).rejects.toMatchObject({ code: 'out_of_range' });
    await log.close();
    const again = await MerkleLog.open({ dir });
    expect(again.checkpointCount).toBe(2);
    expect(await again.checkpointAt(10)).toBe(n10);
    expect(await again.latestCheckpoint()).toEqual({ size: 15, note: n15 });
    expect(again.recovery.checkedCheckpoints).toBe(1);
    await again.close();
  });

  it('keeps a re-signed note at an unchanged size as the latest, across reopen', async () => {
    const dir = tempDir();
    const log = await MerkleLog.open({ dir });
    await log.append(entries(4));
    const first = note('example.org/log', 4, log.root());
    // A later signature over the same tree (a retiring shard's final checkpoint).
    const resigned = first.replace('— test AAAAAAAA', '— test BBBBBBBB');
    await log.saveCheckpoint(4, first);
    await log.saveCheckpoint(4, resigned);
    expect(await log.latestCheckpoint()).toEqual({ size: 4, note: resigned });
    expect(await log.checkpointAt(4)).toBe(resigned);
    await log.close();
    const again = await MerkleLog.open({ dir });
    expect(await again.latestCheckpoint()).toEqual({ size: 4, note: resigned });
    expect(await again.checkpointAt(4)).toBe(resigned);
    await again.close();
  });

  it('refuses a note that is not a signed checkpoint (core parses it, one reading of the format)', async () => {
    const log = await MerkleLog.open({ dir: tempDir() });
    await log.append(entries(3));
    const good = note('example.org/log', 3, log.root());
    for (const bad of [
      good.replace('\n\n', '\n'), // no signature block
      good.replace('— test AAAAAAAA', '— test AAAA'), // signature too short
      good.replace('\n3\n', '\n03\n'), // size with a leading zero
      good.replace('\n\n', '\nrouting_epoch x\n\n'), // a malformed AgDR line
    ]) {
      await expect(log.saveCheckpoint(3, bad)).rejects.toMatchObject({
        code: 'bad_argument',
        message: expect.stringMatching(/not a signed checkpoint note/),
      });
    }
    expect(await log.latestCheckpoint()).toBeUndefined();
    await log.saveCheckpoint(3, good);
    await log.close();
  });

  it('refuses a checkpoint note that carries another root', async () => {
    const log = await MerkleLog.open({ dir: tempDir() });
    await log.append(entries(3));
    const wrong = note('example.org/log', 3, new Uint8Array(32));
    await expect(log.saveCheckpoint(3, wrong)).rejects.toMatchObject({ code: 'bad_argument' });
    expect(await log.latestCheckpoint()).toBeUndefined();
    await log.close();
  });
});

describe('MerkleLog directory ownership', () => {
  it('cannot be opened twice at once, and can after close', async () => {
    const dir = tempDir();
    const log = await MerkleLog.open({ dir });
    await expect(MerkleLog.open({ dir })).rejects.toMatchObject({ code: 'locked' });
    await log.close();
    const again = await MerkleLog.open({ dir });
    await again.close();
  });

  it('rejects appends after close', async () => {
    const log = await MerkleLog.open({ dir: tempDir() });
    await log.close();
    await expect(log.append([entry()])).rejects.toMatchObject({ code: 'closed' });
  });

  it('produces identical bytes and hashes for identical input (roots are a pure function of entries)', async () => {
    const a = await MerkleLog.open({ dir: tempDir() });
    const b = await MerkleLog.open({ dir: tempDir(), maxBatchEntries: 1 });
    await a.append(entries(40));
    await Promise.all(Array.from({ length: 40 }, () => b.append([entry()])));
    expect(bytesEqual(a.root(), b.root())).toBe(true);
    await a.close();
    await b.close();
  });
});
