// A real `agdr shard` process records a rotation of its (file) key in its key history: restarted
// after the key file gained a version, it signs the transition with the old and the new version
// before the new one signs, serves the history, and a verifier who trusts only the first key
// checks every checkpoint, old and new, within its key's window.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyCheckpoint, parseCheckpoint } from '../../../src/core/checkpoint.ts';
import {
  firstKeyAnchor,
  followKeyHistory,
  type KeyHistory,
} from '../../../src/core/key-history.ts';
import { parseNote } from '../../../src/core/note.ts';
import type { TrustAnchor } from '../../../src/core/bundle.ts';
import { rotateFileKey } from '../../../src/keys/file-signer.ts';
import { shardOrigin } from '../../../src/core/checkpoint.ts';
import { startShard } from '../../../src/shard-runtime/index.ts';
import { InMemoryVersionedSigner } from '../../fixtures/versioned-signer.ts';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  signedCheckpoint,
  startShardProcess,
  tempDir,
  waitFor,
  writeRouting,
  type ShardProcess,
} from './shard-process.ts';

const table = epochTable(1);
let shard: ShardProcess | undefined;

afterAll(async () => {
  await shard?.kill();
  removeTempDirs();
});

/** The pinned key whose window holds the checkpoint's signing time verifies it; no other does. */
function verifyInWindow(note: string, pinned: TrustAnchor[], origin: string): number {
  const at = parseCheckpoint(parseNote(note).text).timestampNs!;
  const inWindow = pinned.filter(
    (a) =>
      BigInt(a.valid_from_ns) <= at && (a.valid_until_ns === null || at < BigInt(a.valid_until_ns)),
  );
  expect(inWindow).toHaveLength(1);
  const cp = verifyCheckpoint(note, [inWindow[0]!.verifier_key], origin);
  for (const other of pinned.filter((a) => a !== inWindow[0]))
    expect(() => verifyCheckpoint(note, [other.verifier_key], origin)).toThrow();
  return cp.size;
}

/** A shard in this process signing with in-memory key versions, a poster and a waiter. */
async function shardWithVersions(tag: string) {
  const dir = tempDir(`agdr-key-${tag}-`);
  const signer = new InMemoryVersionedSigner(shardOrigin('default', 'local', 0), 1);
  const running = await startShard({
    dataDir: join(dir, 'data'),
    shardId: 0,
    routingFile: writeRouting(dir, table),
    port: 0,
    host: '127.0.0.1',
    signer,
    checkpointIntervalMs: 100,
  });
  const post = async (from: number): Promise<void> => {
    const res = await request(`${running.url}/v1/decisions:batch`, {
      body: ndjson(decisionsFor(table, 0, 10, { tag, from })),
      type: 'application/x-ndjson',
    });
    expect(res.status).toBe(200);
  };
  /** The latest checkpoint once `accept` takes it. */
  const checkpointWhere = (what: string, accept: (note: string) => boolean): Promise<string> =>
    waitFor(
      async () => {
        const res = await request<string>(`${running.url}/v1/checkpoint`);
        return res.status === 200 && accept(res.text) ? res.text : undefined;
      },
      10_000,
      what,
    );
  return { signer, running, post, checkpointWhere };
}

describe('agdr shard key history', () => {
  it('records a key rotation as a transition signed by both versions and serves it', async () => {
    const dir = tempDir('agdr-key-history-');
    const routingFile = writeRouting(dir, table);
    const opts = {
      dataDir: join(dir, 'data'),
      shardId: 0,
      routingFile,
      args: ['--checkpoint-interval', '200ms'],
    };
    const post = async (from: number): Promise<void> => {
      const res = await request(`${shard!.url}/v1/decisions:batch`, {
        body: ndjson(decisionsFor(table, 0, 20, { tag: 'rotation', from })),
        type: 'application/x-ndjson',
      });
      expect(res.status).toBe(200);
    };

    shard = await startShardProcess(opts);
    const first = shard.info.verifier_key;
    await post(0);
    const before = (await signedCheckpoint(shard, 20)).note;
    const initial = (await request<KeyHistory>(`${shard.url}/v1/key-history`)).body;
    expect(initial).toEqual({
      format: 'agdr-key-history/v1',
      origin: shard.info.origin,
      first: { version: 1, verifier_key: first },
      transitions: [],
    });
    expect(await shard.stop()).toBe(0);

    // The key file gains version 2 while the shard is down.
    await rotateFileKey(join(dir, 'data', 'key.json'));
    shard = await startShardProcess(opts);
    expect(shard.info.verifier_key).not.toBe(first);
    // At start it records the rotation and signs its tree again with version 2, before any write.
    const resigned = (await request<string>(`${shard.url}/v1/checkpoint`)).text;
    expect(verifyCheckpoint(resigned, [shard.info.verifier_key], shard.info.origin).size).toBe(20);
    await post(1000);
    const after = await waitFor(
      async () => {
        const note = (await request<string>(`${shard!.url}/v1/checkpoint`)).text;
        return parseCheckpoint(parseNote(note).text).size >= 40 ? note : undefined;
      },
      10_000,
      'a checkpoint of 40 records',
    );
    expect(verifyCheckpoint(after, [shard.info.verifier_key], shard.info.origin).size).toBe(40);
    const history = (await request<KeyHistory>(`${shard.url}/v1/key-history`)).body;
    expect(history.first).toEqual(initial.first);
    expect(history.transitions).toHaveLength(1);
    expect(history.transitions[0]).toMatch(/^agdr-key-transition\/v1\n/);

    // Trusting only the first key, the history pins version 2 from the rotation on.
    const pinned = followKeyHistory([firstKeyAnchor(first)], history.transitions);
    expect(pinned.map((a) => a.verifier_key)).toEqual([first, shard.info.verifier_key]);
    expect(verifyInWindow(before, pinned, shard.info.origin)).toBe(20);
    expect(verifyInWindow(resigned, pinned, shard.info.origin)).toBe(20);
    expect(verifyInWindow(after, pinned, shard.info.origin)).toBe(40);
    // Size 20's checkpoint is now the one signed again: the same tree, under the new key.
    const kept = (await request<string>(`${shard.url}/v1/checkpoints?size=20`)).text;
    expect(kept).toBe(resigned);
    expect(parseCheckpoint(parseNote(kept).text).rootHash).toEqual(
      parseCheckpoint(parseNote(before).text).rootHash,
    );

    // A restart with nothing rotated records nothing more.
    expect(await shard.stop()).toBe(0);
    shard = await startShardProcess(opts);
    const again = (await request<KeyHistory>(`${shard.url}/v1/key-history`)).body;
    expect(again).toEqual(history);
    expect(await shard.stop()).toBe(0);
    expect(shard.stderr()).not.toMatch(/history is broken/);
  });

  it('a rotation while the shard runs: recorded at the next checkpoint interval, and the shard reports the new key', async () => {
    const { signer, running, post, checkpointWhere } = await shardWithVersions('running');
    try {
      const checkpointOf = (size: number): Promise<string> =>
        checkpointWhere(
          `a checkpoint of ${size} records`,
          (note) => parseCheckpoint(parseNote(note).text).size >= size,
        );
      expect(running.verifierKey).toBe(signer.key(1));
      await post(0);
      const before = await checkpointOf(10);
      signer.rotate();
      // Learnt, not used: nothing is signed by version 2 before the transition is recorded.
      expect(running.verifierKey).toBe(signer.key(1));
      await post(100);
      const after = await checkpointOf(20);
      expect(running.verifierKey).toBe(signer.key(2));
      const history = running.keyHistory.document;
      expect(history.transitions).toHaveLength(1);
      const pinned = followKeyHistory([firstKeyAnchor(signer.key(1))], history.transitions);
      expect(verifyInWindow(before, pinned, running.origin)).toBe(10);
      expect(verifyInWindow(after, pinned, running.origin)).toBe(20);
    } finally {
      await running.close();
    }
  });

  it('an idle shard moves its latest checkpoint to the new key at once, so a trim breaks nothing', async () => {
    const { signer, running, post, checkpointWhere } = await shardWithVersions('idle');
    try {
      /** The latest checkpoint once it covers `size` and verifies with `key`. */
      const checkpointBy = (key: string, size: number): Promise<string> =>
        checkpointWhere(`a checkpoint of ${size} records by ${key}`, (note) => {
          try {
            return verifyCheckpoint(note, [key], running.origin).size >= size;
          } catch {
            return false;
          }
        });
      await post(0);
      const before = await checkpointBy(signer.key(1), 10);
      signer.rotate();
      // No write: the shard records the rotation and signs the same tree with version 2.
      const after = await checkpointBy(signer.key(2), 10);
      expect(parseCheckpoint(parseNote(after).text).rootHash).toEqual(
        parseCheckpoint(parseNote(before).text).rootHash,
      );
      // Version 1 trimmed: the history the shard serves is unbroken and covers both checkpoints.
      signer.minVersion = 2;
      const history = (await request<KeyHistory>(`${running.url}/v1/key-history`)).body;
      expect(history.transitions).toHaveLength(1);
      const pinned = followKeyHistory([firstKeyAnchor(signer.key(1))], history.transitions);
      expect(verifyInWindow(before, pinned, running.origin)).toBe(10);
      expect(verifyInWindow(after, pinned, running.origin)).toBe(10);
      // A later write is signed by version 2 as usual.
      await post(100);
      expect(verifyInWindow(await checkpointBy(signer.key(2), 20), pinned, running.origin)).toBe(
        20,
      );
      expect(running.keyHistory.document).toEqual(history);
    } finally {
      await running.close();
    }
  });
});
