// A read-only open (what `agdr verify --log` uses) runs every recovery check, reports what a
// writable open would repair, serves the repaired tree, and never changes a byte on disk.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { blake3Reference } from '../../../src/core/hash.ts';
import { verifyConsistency, verifyInclusion } from '../../../src/core/merkle/proof.ts';
import { merkleRoot } from '../../../src/core/merkle/tree.ts';
import { LogCorruptionError, MerkleLog } from '../../../src/log-store/index.ts';
import { crashImage, entries, tempDir } from './fixtures.ts';
import { snapshotTree } from './snapshot.ts';
import {
  FLOOR,
  RECOVERED,
  STALE_NODES,
  TORN,
  APPENDED,
  checkpointNote,
  tornImage,
} from './torn-image.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Roots and proofs at sizes that read the stale, the missing and the intact tile nodes. */
async function served(log: MerkleLog): Promise<string[]> {
  const out: string[] = [];
  for (const size of [1, FLOOR, 768, 1000, 1024, RECOVERED])
    out.push(`root ${size} ${hex(await log.rootAt(size))}`);
  for (const [index, size] of [
    [0, RECOVERED],
    [600, RECOVERED],
    [900, 1024],
    [RECOVERED - 1, RECOVERED],
  ] as const) {
    out.push(`incl ${index} ${size} ${(await log.inclusionProof(index, size)).map(hex).join()}`);
  }
  for (const [from, to] of [
    [FLOOR, RECOVERED],
    [700, 1024],
    [1, RECOVERED],
  ] as const) {
    out.push(`cons ${from} ${to} ${(await log.consistencyProof(from, to)).map(hex).join()}`);
  }
  return out;
}

describe('read-only open of a log a crash left needing repair', () => {
  it('reports the torn tail and stale tiles, serves the repaired tree, and changes nothing', async () => {
    const img = await tornImage(tempDir());
    const before = snapshotTree(img.dir);
    const ro = await MerkleLog.open({ dir: img.dir, readOnly: true, fullCheck: true });
    expect(ro.recovery).toMatchObject({
      readOnly: true,
      size: RECOVERED,
      durableFloor: FLOOR,
      truncatedRecords: TORN,
      repairedTileNodes: STALE_NODES,
      checkedRecords: APPENDED,
    });
    // The tree served is the one the records define, not the stale stored nodes.
    const leaves = img.leaves.slice(0, RECOVERED);
    const root = merkleRoot(blake3Reference, leaves);
    expect(ro.size).toBe(RECOVERED);
    expect(hex(ro.root())).toBe(hex(root));
    const proof = await ro.inclusionProof(600, RECOVERED);
    expect(() =>
      verifyInclusion(blake3Reference, 600, RECOVERED, leaves[600] as Uint8Array, proof, root),
    ).not.toThrow();
    const cons = await ro.consistencyProof(700, RECOVERED);
    const old = merkleRoot(blake3Reference, leaves.slice(0, 700));
    expect(() => verifyConsistency(blake3Reference, 700, RECOVERED, cons, old, root)).not.toThrow();
    const fromReadOnly = await served(ro);
    // Records of the torn tail are not served; nothing can be written.
    await expect(ro.read(RECOVERED)).rejects.toMatchObject({ code: 'out_of_range' });
    await expect(ro.append(entries(1))).rejects.toMatchObject({ code: 'read_only' });
    await expect(
      ro.saveCheckpoint(RECOVERED, checkpointNote(RECOVERED, ro.root())),
    ).rejects.toMatchObject({ code: 'read_only' });
    await ro.close();
    expect(snapshotTree(img.dir)).toEqual(before);

    // A writable open of a copy repairs the files and serves exactly the same tree.
    const copy = crashImage(img.dir);
    const rw = await MerkleLog.open({ dir: copy, fullCheck: true });
    expect(rw.recovery).toMatchObject({
      readOnly: false,
      size: RECOVERED,
      truncatedRecords: TORN,
      repairedTileNodes: STALE_NODES,
    });
    expect(await served(rw)).toEqual(fromReadOnly);
    await rw.close();
    expect(snapshotTree(copy)).not.toEqual(before);
    await img.close();
  });

  it('gives the same size and tree with the cheap check', async () => {
    const img = await tornImage(tempDir());
    const before = snapshotTree(img.dir);
    const ro = await MerkleLog.open({ dir: img.dir, readOnly: true });
    expect(ro.recovery).toMatchObject({ readOnly: true, fullCheck: false, size: RECOVERED });
    expect(ro.recovery.repairedTileNodes).toBe(STALE_NODES);
    expect(hex(ro.root())).toBe(hex(merkleRoot(blake3Reference, img.leaves.slice(0, RECOVERED))));
    await ro.close();
    expect(snapshotTree(img.dir)).toEqual(before);
    await img.close();
  });

  it('reads a torn checkpoint history as a writable open would, without fixing it', async () => {
    const img = await tornImage(tempDir());
    // The index lost its entry (frame kept) and a torn frame follows the last one.
    fs.truncateSync(path.join(img.dir, 'checkpoints.idx'), 0);
    fs.appendFileSync(path.join(img.dir, 'checkpoints.log'), Buffer.from([9, 0, 0, 0, 1, 2]));
    const before = snapshotTree(img.dir);
    const ro = await MerkleLog.open({ dir: img.dir, readOnly: true, fullCheck: true });
    expect(ro.checkpointCount).toBe(1);
    expect((await ro.latestCheckpoint())?.size).toBe(FLOOR);
    expect(await ro.checkpointAt(FLOOR)).toBe((await ro.checkpointByIndex(0)).note);
    expect(ro.recovery.checkedCheckpoints).toBe(1);
    await ro.close();
    expect(snapshotTree(img.dir)).toEqual(before);
    await img.close();
  });
});

describe('read-only open and the directory lock', () => {
  it('holds the lock while open and puts back a stale lock it found', async () => {
    const img = await tornImage(tempDir());
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    fs.writeFileSync(path.join(img.dir, 'LOCK'), `${dead}\n`);
    const before = snapshotTree(img.dir);
    const ro = await MerkleLog.open({ dir: img.dir, readOnly: true });
    expect(fs.readFileSync(path.join(img.dir, 'LOCK'), 'utf8')).toBe(`${process.pid}\n`);
    await expect(MerkleLog.open({ dir: img.dir })).rejects.toMatchObject({ code: 'locked' });
    await ro.close();
    expect(snapshotTree(img.dir)).toEqual(before);
    await img.close();
  });

  it('is refused while a writer has the log open', async () => {
    const live = tempDir();
    const img = await tornImage(live); // the log it was copied from stays open
    await expect(MerkleLog.open({ dir: live, readOnly: true })).rejects.toMatchObject({
      code: 'locked',
    });
    await img.close();
    const ro = await MerkleLog.open({ dir: live, readOnly: true });
    expect(ro.size).toBe(APPENDED);
    await ro.close();
  });
});

describe('read-only open refuses what is not a sound log, changing nothing', () => {
  it('still refuses a stale tile node below the durable marker', async () => {
    const img = await tornImage(tempDir());
    const fd = fs.openSync(path.join(img.dir, 'tiles', 'level-1.hashes'), 'r+');
    fs.writeSync(fd, Buffer.alloc(32, 1), 0, 32, 1 * 32);
    fs.closeSync(fd);
    const before = snapshotTree(img.dir);
    const open = MerkleLog.open({ dir: img.dir, readOnly: true, fullCheck: true });
    await expect(open).rejects.toBeInstanceOf(LogCorruptionError);
    await expect(open).rejects.toThrow(/tile node 1 does not match/);
    expect(snapshotTree(img.dir)).toEqual(before);
    await img.close();
  });

  it('still refuses a record below the durable floor that no longer matches its hash', async () => {
    const img = await tornImage(tempDir());
    const seg = path.join(img.dir, 'records', '0000000000000000.seg');
    const data = fs.readFileSync(seg);
    data.writeUInt8(data.readUInt8(5) ^ 1, 5);
    fs.writeFileSync(seg, data);
    const before = snapshotTree(img.dir);
    await expect(MerkleLog.open({ dir: img.dir, readOnly: true, fullCheck: true })).rejects.toThrow(
      /record 1 does not match its leaf hash/,
    );
    expect(snapshotTree(img.dir)).toEqual(before);
    // The failed check released the lock (the image's LOCK, a copy of the live one, is back).
    const cheap = await MerkleLog.open({ dir: img.dir, readOnly: true });
    expect(cheap.size).toBe(RECOVERED);
    await cheap.close();
    await img.close();
  });

  it('creates nothing for a missing or empty directory', async () => {
    const parent = tempDir();
    const missing = path.join(parent, 'nope');
    await expect(MerkleLog.open({ dir: missing, readOnly: true })).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(fs.existsSync(missing)).toBe(false);
    await expect(MerkleLog.open({ dir: parent, readOnly: true })).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(fs.readdirSync(parent)).toEqual([]);
  });
});
