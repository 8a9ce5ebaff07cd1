import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { parseCheckpoint, shardOrigin, verifyCheckpoint } from '../../../src/core/checkpoint.ts';
import {
  firstKeyAnchor,
  followKeyHistory,
  openKeyTransition,
} from '../../../src/core/key-history.ts';
import { parseNote } from '../../../src/core/note.ts';
import type { EpochTable } from '../../../src/core/routing.ts';
import { ed25519SignerFromSeed, type Signer } from '../../../src/core/signer.ts';
import { KeyHistoryFile } from '../../../src/keys/key-history-file.ts';
import { MerkleLog } from '../../../src/log-store/index.ts';
import {
  Checkpointer,
  MAX_RETRY_DELAY_MS,
  retryDelayMs,
} from '../../../src/shard-runtime/checkpointer.ts';
import { InMemoryVersionedSigner } from '../../fixtures/versioned-signer.ts';
import { epoch } from './epochs.ts';

const silent = pino({ level: 'silent' });
const dirs: string[] = [];
const logs: MerkleLog[] = [];
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const BOUNDARY = '2000';
const table: EpochTable = { epochs: [epoch(0, 2, '0'), epoch(1, 1, BOUNDARY)] };
const origin = 'agdr.test/ns/c/shard-1';

async function setup(shardId: number, clock: () => string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-ckpt-'));
  dirs.push(dir);
  const log = await MerkleLog.open({ dir });
  logs.push(log);
  let settledCalls = 0;
  const cp = new Checkpointer({
    log,
    signer: ed25519SignerFromSeed(origin, new Uint8Array(32).fill(7)),
    shardId,
    origin,
    intervalMs: 60_000,
    routing: () => table,
    logger: silent,
    clock,
    appendsSettled: async () => {
      settledCalls++;
    },
  });
  const latest = async () => {
    const c = await log.latestCheckpoint();
    if (c === undefined) throw new Error('no checkpoint');
    return { ...c, checkpoint: parseCheckpoint(parseNote(c.note).text) };
  };
  return { log, cp, latest, settled: () => settledCalls };
}

describe('Checkpointer', () => {
  it('signs only when the log grew while the shard is live', async () => {
    let now = '1000';
    const { log, cp, latest } = await setup(0, () => now);
    await cp.signIfDue();
    expect((await latest()).size).toBe(0);
    await log.append([() => utf8.encode('a')]);
    now = '1500';
    await cp.signIfDue();
    const first = await latest();
    expect([first.size, first.checkpoint.timestampNs]).toEqual([1, 1500n]);
    now = '2500'; // shard 0 stays in the new epoch: nothing new to sign
    await cp.signIfDue();
    expect((await latest()).note).toBe(first.note);
    expect(log.checkpointCount).toBe(2);
  });

  it('signs once more at an unchanged size once retired, dated at or after the boundary', async () => {
    let now = '1000';
    const { log, cp, latest, settled } = await setup(1, () => now);
    await log.append([() => utf8.encode('a'), () => utf8.encode('b')]);
    await cp.signIfDue();
    expect((await latest()).checkpoint.timestampNs).toBe(1000n);
    expect(settled()).toBe(0);
    now = '1999';
    await cp.signIfDue();
    expect(log.checkpointCount).toBe(1);
    now = BOUNDARY;
    await cp.signIfDue();
    const final = await latest();
    expect([final.size, final.checkpoint.timestampNs, final.checkpoint.routingEpoch]).toEqual([
      2,
      2000n,
      1,
    ]);
    expect(settled()).toBe(1);
    expect(await log.checkpointAt(2)).toBe(final.note);
    // Once a checkpoint dated after the boundary exists, nothing more is signed.
    now = '3000';
    await cp.signIfDue();
    expect((await latest()).note).toBe(final.note);
    expect(log.checkpointCount).toBe(2);
    // The re-signed checkpoint survives a restart as the latest, also for its size.
    await log.close();
    logs.splice(logs.indexOf(log), 1);
    const reopened = await MerkleLog.open({ dir: dirs.at(-1) as string });
    logs.push(reopened);
    expect((await reopened.latestCheckpoint())?.note).toBe(final.note);
    expect(await reopened.checkpointAt(2)).toBe(final.note);
    expect(reopened.checkpointCount).toBe(2);
  });

  it('keeps failing signings apart from appends, counts them and logs start and recovery', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-ckpt-'));
    dirs.push(dir);
    const log = await MerkleLog.open({ dir });
    logs.push(log);
    const inner = ed25519SignerFromSeed(origin, new Uint8Array(32).fill(7));
    let down = true;
    const signer: Signer = {
      name: inner.name,
      publicKey: inner.publicKey,
      keyVersion: 1,
      sign: (m) =>
        down
          ? Promise.reject(
              Object.assign(new Error('vault unreachable'), { code: 'vault_unreachable' }),
            )
          : inner.sign(m),
    };
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const failures: number[] = [];
    let signed = 0;
    const cp = new Checkpointer({
      log,
      signer,
      shardId: 0,
      origin,
      intervalMs: 60_000,
      routing: () => table,
      logger,
      clock: () => '1000',
      onFailure: (_err, n) => failures.push(n),
      onSigned: () => signed++,
    });
    await log.append([() => utf8.encode('a')]);
    await cp.signIfDue();
    await log.append([() => utf8.encode('b')]);
    await cp.signIfDue();
    expect(log.size).toBe(2);
    expect(failures).toEqual([1, 2]);
    expect(cp.consecutiveFailures).toBe(2);
    expect(await log.latestCheckpoint()).toBeUndefined();
    expect(lines.map((l) => [l.level, l.msg, l.code, l.retry_ms])).toEqual([
      [50, 'checkpoint signing failed; appends continue, retrying', 'vault_unreachable', 60_000],
      [40, 'checkpoint signing still failing', 'vault_unreachable', 60_000],
    ]);
    down = false;
    await cp.signIfDue();
    expect(signed).toBe(1);
    expect(cp.consecutiveFailures).toBe(0);
    expect((await log.latestCheckpoint())?.size).toBe(2);
    expect(lines.at(-1)).toMatchObject({
      level: 30,
      msg: 'checkpoint signing recovered',
      failures: 2,
    });
  });
});

describe('Checkpointer across a key rotation', () => {
  // A key transition names a log origin.
  const logOrigin = shardOrigin('ns', 'c', 0);
  /** A log of one record, a versioned signer, its key history and a checkpointer over them. */
  async function rotating() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-ckpt-'));
    dirs.push(dir);
    const log = await MerkleLog.open({ dir });
    logs.push(log);
    const signer = new InMemoryVersionedSigner(logOrigin, 1);
    let now = 1000n;
    const clock = (): bigint => (now += 10n);
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
    );
    const history = await KeyHistoryFile.open({
      file: path.join(dir, 'key-history.json'),
      signer,
      clock,
      logger,
    });
    const failures: number[] = [];
    const cp = new Checkpointer({
      log,
      signer,
      shardId: 0,
      origin: logOrigin,
      intervalMs: 60_000,
      routing: () => table,
      logger,
      clock: () => clock().toString(),
      beforeSign: () => history.advance(),
      onFailure: (_err, n) => failures.push(n),
    });
    await log.append([() => utf8.encode('a')]);
    await cp.signIfDue();
    const latest = async () => {
      const c = await log.latestCheckpoint();
      if (c === undefined) throw new Error('no checkpoint');
      return c;
    };
    return { log, signer, history, cp, latest, failures, lines };
  }

  it('an idle log signs a checkpoint by the new version at an unchanged size once it rotated', async () => {
    const { log, signer, history, cp, latest, lines } = await rotating();
    const before = await latest();
    expect(log.checkpointCount).toBe(1);
    await cp.signIfDue();
    expect(log.checkpointCount).toBe(1);

    signer.rotate();
    await cp.signIfDue();
    const after = await latest();
    expect(after.size).toBe(1);
    expect(log.checkpointCount).toBe(2);
    expect(verifyCheckpoint(after.note, [signer.key(2)], logOrigin).size).toBe(1);
    expect(() => verifyCheckpoint(after.note, [signer.key(1)], logOrigin)).toThrow();
    // The transition was recorded first: signed by version 1, the new checkpoint dated after it.
    expect(history.document.transitions).toHaveLength(1);
    const t = openKeyTransition(history.document.transitions[0]!);
    expect([t.oldVersion, t.newVersion]).toEqual([1, 2]);
    expect(parseCheckpoint(parseNote(after.note).text).timestampNs).toBeGreaterThanOrEqual(
      t.validFromNs,
    );
    expect(parseCheckpoint(parseNote(before.note).text).timestampNs).toBeLessThan(t.validFromNs);
    // Version 1 trimmed now: nothing is broken, nothing more is signed, the chain covers both.
    signer.minVersion = 2;
    await cp.signIfDue();
    expect(log.checkpointCount).toBe(2);
    const pinned = followKeyHistory([firstKeyAnchor(signer.key(1))], history.document.transitions);
    expect(pinned.map((a) => a.verifier_key)).toEqual([signer.key(1), signer.key(2)]);
    expect(lines.some((l) => /history is broken/.test(String(l.msg)))).toBe(false);
  });

  it('a rotation while the key service is down: counted as a failure, recorded once it is back', async () => {
    const { log, signer, history, cp, latest, failures } = await rotating();
    const before = await latest();
    signer.rotate();
    signer.down = true;
    await cp.signIfDue();
    expect(failures).toEqual([1]);
    expect(cp.failing?.reason).toMatch(/unreachable/);
    // Nothing switched half-way: version 1 still signs, the latest checkpoint is kept.
    expect(signer.keyVersion).toBe(1);
    expect(history.document.transitions).toEqual([]);
    expect((await latest()).note).toBe(before.note);
    signer.down = false;
    await cp.signIfDue();
    expect(cp.consecutiveFailures).toBe(0);
    expect(history.document.transitions).toHaveLength(1);
    expect(verifyCheckpoint((await latest()).note, [signer.key(2)], logOrigin).size).toBe(1);
    expect(log.checkpointCount).toBe(2);
  });
});

describe('retryDelayMs', () => {
  it('doubles from the interval per failure up to the cap, or the interval if longer', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(1000, n))).toEqual([
      1000,
      2000,
      4000,
      8000,
      16_000,
      MAX_RETRY_DELAY_MS,
      MAX_RETRY_DELAY_MS,
    ]);
    expect(retryDelayMs(1000, 10_000)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(60_000, 3)).toBe(60_000);
  });
});
