import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { LogCorruptionError, MerkleLog, Scrubber } from '../../../src/log-store/index.ts';
import { entries, tempDir } from './fixtures.ts';

const INDEX_ENTRY = 40;

/** A closed log of `n` records (segments of 1000), for damaging on disk. */
async function storedLog(n: number): Promise<string> {
  const dir = tempDir();
  const log = await MerkleLog.open({ dir, segmentRecords: 1000 });
  await log.append(entries(n));
  await log.close();
  return dir;
}

function xorByte(file: string, at: number): void {
  const data = fs.readFileSync(file);
  data.writeUInt8((data[at] as number) ^ 0x04, at);
  fs.writeFileSync(file, data);
}

/** Runs a scrub until it stops on an error (or `ms` pass); returns the error. */
async function scrubUntilStopped(log: MerkleLog, ms = 5000): Promise<unknown> {
  const stopped = Promise.withResolvers<unknown>();
  const scrub = new Scrubber(log, { recordsPerSecond: 1e6, onStopped: stopped.resolve });
  scrub.start();
  const timer = setTimeout(() => stopped.resolve(undefined), ms);
  const err = await stopped.promise;
  clearTimeout(timer);
  await scrub.stop();
  return err;
}

it('finds a damaged record no read touched, records it, and the log refuses appends', async () => {
  const dir = await storedLog(700);
  const idx = fs.readFileSync(path.join(dir, 'leaves.idx'));
  xorByte(
    path.join(dir, 'records', '0000000000000000.seg'),
    idx.readUInt32LE(99 * INDEX_ENTRY + 32) + 1,
  );
  const damaged: LogCorruptionError[] = [];
  const log = await MerkleLog.open({ dir, onDamage: (e) => damaged.push(e) });
  expect(log.failure).toBeUndefined();
  const err = await scrubUntilStopped(log);
  expect(err).toBeInstanceOf(LogCorruptionError);
  expect((err as Error).message).toMatch(/record 100 \(bytes \d+\.\.\d+\) does not match/);
  expect(damaged).toHaveLength(1);
  expect(log.failure?.code).toBe('corrupt');
  await expect(log.read(100)).rejects.toBeInstanceOf(LogCorruptionError);
  await expect(log.append(entries(1))).rejects.toBeInstanceOf(LogCorruptionError);
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'DAMAGE'), 'utf8'))).toMatchObject({ seq: 100 });
  await log.close();
  await expect(MerkleLog.open({ dir })).rejects.toThrow(/record 100 .*still damaged/);
});

it('finds a tile node damaged while the log is open', async () => {
  const dir = await storedLog(700);
  const log = await MerkleLog.open({ dir });
  xorByte(path.join(dir, 'tiles', 'level-1.hashes'), 3);
  const err = await scrubUntilStopped(log);
  expect((err as Error).message).toMatch(/level-1\.hashes: tile node 0 does not match/);
  await log.close();
});

it('is paced to its rate and completes passes over an intact log', async () => {
  const dir = await storedLog(700);
  const log = await MerkleLog.open({ dir });
  let checked = 0;
  const scrub = new Scrubber(log, {
    recordsPerSecond: 1000,
    onChecked: (n) => (checked += n),
  });
  scrub.start();
  await new Promise((r) => setTimeout(r, 150));
  // One chunk of 256, then a 256 ms pause before the next.
  expect(checked).toBe(256);
  await scrub.stop();

  const passes: number[] = [];
  const fast = new Scrubber(log, {
    recordsPerSecond: 1e6,
    passPauseMs: 1,
    onPass: (size) => passes.push(size),
  });
  fast.start();
  await new Promise((r) => setTimeout(r, 300));
  await fast.stop();
  expect(passes.length).toBeGreaterThan(0);
  expect(passes[0]).toBe(700);
  expect(log.failure).toBeUndefined();
  await log.close();
});
