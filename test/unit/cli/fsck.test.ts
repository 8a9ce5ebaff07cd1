// `agdr verify --log` (fsckLog) checks a log directory without changing it: what a crash left
// for the next start to repair is reported, not repaired.
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../src/core/bytes.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { merkleRoot } from '../../../src/core/merkle/tree.ts';
import { fsckLog } from '../../../src/cli/client/fsck.ts';
import { ProgressBar } from '../../../src/cli/client/progress.ts';
import { MerkleLog } from '../../../src/log-store/index.ts';
import { crashImage, tempDir } from '../log-store/fixtures.ts';
import { snapshotTree } from '../log-store/snapshot.ts';
import { RECOVERED, STALE_NODES, TORN, tornImage } from '../log-store/torn-image.ts';

const quiet = (): ProgressBar =>
  new ProgressBar(new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream);

describe('fsckLog', () => {
  it('reports a torn tail and stale tree nodes and leaves every byte in place', async () => {
    const img = await tornImage(tempDir());
    const before = snapshotTree(img.dir);
    const report = await fsckLog(img.dir, undefined, quiet());
    expect(snapshotTree(img.dir)).toEqual(before);
    expect(report).toMatchObject({
      size: RECOVERED,
      checkedRecords: RECOVERED + TORN,
      tornTailRecords: TORN,
      staleTileNodes: STALE_NODES,
      checkpoints: 1,
    });
    expect(report.root).toBe(toHex(merkleRoot(blake3Reference, img.leaves.slice(0, RECOVERED))));
    // A shard start on a copy finds the same log after repairing it.
    const started = await MerkleLog.open({ dir: crashImage(img.dir) });
    expect(started.recovery).toMatchObject({ truncatedRecords: TORN, size: RECOVERED });
    expect(toHex(started.root())).toBe(report.root);
    await started.close();
    await img.close();
  });

  it('reports corruption as an error and changes nothing', async () => {
    const img = await tornImage(tempDir());
    const before = snapshotTree(img.dir);
    // Below the marker the stored level-1 tile disagrees with the leaves.
    const level1 = path.join(img.dir, 'tiles', 'level-1.hashes');
    const bytes = fs.readFileSync(level1);
    bytes[0] = (bytes[0] as number) ^ 1;
    fs.writeFileSync(level1, bytes);
    const damaged = snapshotTree(img.dir);
    expect(damaged).not.toEqual(before);
    await expect(fsckLog(img.dir, undefined, quiet())).rejects.toMatchObject({ code: 'corrupt' });
    expect(snapshotTree(img.dir)).toEqual(damaged);
    await img.close();
  });
});
