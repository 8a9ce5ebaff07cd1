import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../../src/core/bytes.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { merkleRoot } from '../../../src/core/merkle/tree.ts';
import { LogCorruptionError, MerkleLog } from '../../../src/log-store/index.ts';
import { crashImage, entries, tempDir } from './fixtures.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const INDEX_ENTRY = 40;

/**
 * A live log with `n` acknowledged records whose durable marker stays at `floor` (a checkpoint
 * there), and its crash image. The log stays open so the image is what a kill leaves.
 */
async function crashed(
  n: number,
  floor = 0,
): Promise<{ image: string; leaves: Uint8Array[]; close: () => Promise<void> }> {
  const dir = tempDir();
  const log = await MerkleLog.open({ dir, markIntervalMs: 1e9, segmentRecords: 1000 });
  const leaves: Uint8Array[] = [];
  for (let done = 0; done < n;) {
    const k = Math.min(97, n - done);
    leaves.push(...(await log.append(entries(k))).map((r) => r.leafHash));
    done += k;
    if (floor > 0 && done === floor) {
      await log.saveCheckpoint(
        floor,
        `example.org/log\n${floor}\n${toBase64(log.root())}\n\n— x AAAAAAAA\n`,
      );
    }
  }
  const image = crashImage(dir);
  return { image, leaves, close: () => log.close() };
}

function lastSegment(dir: string): string {
  const names = fs.readdirSync(path.join(dir, 'records')).sort();
  return path.join(dir, 'records', names[names.length - 1] as string);
}

async function expectPrefix(dir: string, leaves: Uint8Array[], size: number): Promise<MerkleLog> {
  const log = await MerkleLog.open({ dir });
  expect(log.size).toBe(size);
  expect(hex(log.root())).toBe(hex(merkleRoot(blake3Reference, leaves.slice(0, size))));
  return log;
}

describe('recovery from a crash image', () => {
  it('keeps every acknowledged record when nothing is torn', async () => {
    const c = await crashed(1500);
    const log = await expectPrefix(c.image, c.leaves, 1500);
    expect(log.recovery.truncatedRecords).toBe(0);
    await log.close();
    const progress: [string, number, number][] = [];
    const full = await MerkleLog.open({
      dir: c.image,
      fullCheck: true,
      onProgress: (phase, done, total) => progress.push([phase, done, total]),
    });
    expect(full.recovery).toMatchObject({ fullCheck: true, checkedRecords: 1500, size: 1500 });
    expect(progress.filter(([p]) => p === 'records').at(-1)).toEqual(['records', 1500, 1500]);
    expect(progress.filter(([p]) => p === 'tiles').at(-1)).toEqual(['tiles', 5, 5]);
    await full.close();
    await c.close();
  });

  it('truncates a torn record at the end of the data', async () => {
    const c = await crashed(600);
    const seg = lastSegment(c.image);
    fs.truncateSync(seg, fs.statSync(seg).size - 3);
    const log = await expectPrefix(c.image, c.leaves, 599);
    expect(log.recovery.truncatedRecords).toBe(1);
    // The log continues from the cut: seq 599 is assigned again.
    expect((await log.append(entries(1)))[0]?.seq).toBe(599);
    await log.close();
    await c.close();
  });

  it('ignores a partial index entry and zero-filled index entries', async () => {
    const c = await crashed(600);
    const idx = path.join(c.image, 'leaves.idx');
    const fd = fs.openSync(idx, 'r+');
    fs.writeSync(fd, Buffer.alloc(3 * INDEX_ENTRY), 0, 3 * INDEX_ENTRY, 597 * INDEX_ENTRY);
    fs.writeSync(fd, Buffer.alloc(17, 0xab), 0, 17, 600 * INDEX_ENTRY);
    fs.closeSync(fd);
    const log = await expectPrefix(c.image, c.leaves, 597);
    await log.close();
    await c.close();
  });

  it('drops record bytes and segments the index never reached', async () => {
    const c = await crashed(999);
    fs.appendFileSync(lastSegment(c.image), 'bytes of a batch that never committed');
    fs.writeFileSync(path.join(c.image, 'records', '0000000000001000.seg'), 'more of it');
    const log = await expectPrefix(c.image, c.leaves, 999);
    expect(fs.readdirSync(path.join(c.image, 'records'))).toEqual(['0000000000000000.seg']);
    const seq = (await log.append(entries(2))).map((r) => r.seq);
    expect(seq).toEqual([999, 1000]);
    await log.close();
    await c.close();
  });

  it('recomputes missing or torn tile nodes past the durable marker', async () => {
    const c = await crashed(256 * 5 + 3);
    const level1 = path.join(c.image, 'tiles', 'level-1.hashes');
    fs.truncateSync(level1, 32 * 2);
    fs.appendFileSync(level1, Buffer.alloc(32, 7));
    const log = await expectPrefix(c.image, c.leaves, 256 * 5 + 3);
    expect(log.recovery.repairedTileNodes).toBe(3);
    expect(fs.statSync(level1).size).toBe(5 * 32);
    await log.close();
    await c.close();
  });

  it('reuses the other marker slot when one is torn', async () => {
    const dir = tempDir();
    const log = await MerkleLog.open({ dir });
    await log.append(entries(50));
    await log.close(); // marker slots now hold sizes 0 and 50
    const fd = fs.openSync(path.join(dir, 'state'), 'r+');
    fs.writeSync(fd, Buffer.alloc(8, 0xff), 0, 8, 40); // damage the newer slot's root
    fs.closeSync(fd);
    const again = await MerkleLog.open({ dir });
    expect(again.size).toBe(50);
    expect(again.recovery.durableFloor).toBe(0);
    await again.close();
  });

  it('drops a torn checkpoint frame and keeps the earlier history', async () => {
    const c = await crashed(400, 291);
    fs.appendFileSync(path.join(c.image, 'checkpoints.log'), Buffer.from([9, 0, 0, 0, 1, 2]));
    const log = await expectPrefix(c.image, c.leaves, 400);
    expect((await log.latestCheckpoint())?.size).toBe(291);
    await log.close();
    await c.close();
  });
});

/** Offsets [start, end) of record `seq` in segment 0 of a crash image (segments of 1000). */
function recordRange(dir: string, seq: number): [number, number] {
  const idx = fs.readFileSync(path.join(dir, 'leaves.idx'));
  const start = seq % 1000 === 0 ? 0 : idx.readUInt32LE((seq - 1) * INDEX_ENTRY + 32);
  return [start, idx.readUInt32LE(seq * INDEX_ENTRY + 32)];
}

function overwrite(file: string, at: number, bytes: Uint8Array): void {
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, bytes, 0, bytes.length, at);
  fs.closeSync(fd);
}

describe('a torn tail against damage past the durable marker', () => {
  it('cuts a record past the marker whose bytes were never written (zeros), later ones too', async () => {
    const c = await crashed(600, 291);
    const [start, end] = recordRange(c.image, 450);
    // Writes landed out of order: record 450's bytes never reached the file, 451.. did.
    overwrite(lastSegment(c.image), start, Buffer.alloc(end - start));
    const log = await expectPrefix(c.image, c.leaves, 450);
    expect(log.recovery.truncatedRecords).toBe(150);
    await log.close();
    await c.close();
  });

  it('cuts a record whose write stopped at a page boundary (its last bytes are zeros)', async () => {
    const c = await crashed(600, 291);
    const [, end] = recordRange(c.image, 598);
    overwrite(lastSegment(c.image), end - 3, Buffer.alloc(3));
    const log = await expectPrefix(c.image, c.leaves, 598);
    await log.close();
    await c.close();
  });

  it('refuses a record past the marker that was written in full and then changed', async () => {
    const c = await crashed(600, 291);
    const [start] = recordRange(c.image, 450);
    const seg = lastSegment(c.image);
    const data = fs.readFileSync(seg);
    overwrite(seg, start + 2, Buffer.from([(data[start + 2] as number) ^ 0x01]));
    await expect(MerkleLog.open({ dir: c.image })).rejects.toThrow(
      /record 450 does not match its leaf hash in leaves\.idx \(bytes \d+\.\.\d+\); .*acknowledged and has since been damaged/,
    );
    // Nothing was cut: the damage stays on disk for an operator to see.
    expect(fs.statSync(path.join(c.image, 'leaves.idx')).size).toBe(600 * INDEX_ENTRY);
    await c.close();
  });

  it('refuses an index entry past the marker changed in place (its leaf hash no longer matches)', async () => {
    const c = await crashed(600, 291);
    overwrite(path.join(c.image, 'leaves.idx'), 500 * INDEX_ENTRY + 5, Buffer.from([0x5a]));
    await expect(MerkleLog.open({ dir: c.image })).rejects.toThrow(
      /record 500 .*acknowledged and has since been damaged/,
    );
    await c.close();
  });
});

describe('recovery refuses real corruption', () => {
  it('when the log holds fewer records than it durably committed', async () => {
    const c = await crashed(500, 291);
    fs.truncateSync(path.join(c.image, 'leaves.idx'), 200 * INDEX_ENTRY);
    await expect(MerkleLog.open({ dir: c.image })).rejects.toBeInstanceOf(LogCorruptionError);
    await c.close();
  });

  it('when a record just below the durable floor no longer matches its hash', async () => {
    const c = await crashed(500, 291);
    // Flip one byte inside record 290: its bytes start at the end offset of record 289.
    const idx = fs.readFileSync(path.join(c.image, 'leaves.idx'));
    const start = idx.readUInt32LE(289 * INDEX_ENTRY + 32);
    const seg = path.join(c.image, 'records', '0000000000000000.seg');
    const data = fs.readFileSync(seg);
    data.writeUInt8(data.readUInt8(start + 1) ^ 1, start + 1);
    fs.writeFileSync(seg, data);
    await expect(MerkleLog.open({ dir: c.image })).rejects.toThrow(
      /record 290 does not match its leaf hash/,
    );
    await c.close();
  });

  it('finds an old flipped byte only with the full check', async () => {
    const c = await crashed(900, 873);
    const seg = path.join(c.image, 'records', '0000000000000000.seg');
    const data = fs.readFileSync(seg);
    data.writeUInt8(data.readUInt8(3) ^ 0x20, 3);
    fs.writeFileSync(seg, data);
    const cheap = await MerkleLog.open({ dir: crashImage(c.image) });
    expect(cheap.size).toBe(900);
    await cheap.close();
    await expect(MerkleLog.open({ dir: c.image, fullCheck: true })).rejects.toThrow(
      /record 0 does not match/,
    );
    await c.close();
  });

  it('when a stored tile node below the marker disagrees with the leaves', async () => {
    const c = await crashed(256 * 3, 256 * 3);
    const level1 = path.join(c.image, 'tiles', 'level-1.hashes');
    const fd = fs.openSync(level1, 'r+');
    fs.writeSync(fd, Buffer.alloc(32, 1), 0, 32, 2 * 32);
    fs.closeSync(fd);
    await expect(MerkleLog.open({ dir: c.image })).rejects.toThrow(/tile node 2 does not match/);
    await c.close();
  });

  it('when the latest signed root differs from the stored tree', async () => {
    const c = await crashed(300);
    const log = await MerkleLog.open({ dir: c.image });
    await log.close();
    // Forge a checkpoint frame for size 300 with a wrong root, appended to the history.
    const other = tempDir();
    const forged = await MerkleLog.open({ dir: other });
    await forged.append(entries(300, 'forged'));
    await forged.saveCheckpoint(
      300,
      `example.org/log\n300\n${toBase64(forged.root())}\n\n— x AAAAAAAA\n`,
    );
    await forged.close();
    for (const f of ['checkpoints.log', 'checkpoints.idx'])
      fs.copyFileSync(path.join(other, f), path.join(c.image, f));
    await expect(MerkleLog.open({ dir: c.image })).rejects.toThrow(
      /signed root at size 300 differs/,
    );
    await c.close();
  });
});
