import * as noble from '@noble/ed25519';
import canonicalize from 'canonicalize';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toHex, utf8 } from '../../../src/core/bytes.ts';
import { shardOrigin, signCheckpoint } from '../../../src/core/checkpoint.ts';
import {
  buildGlobalRootRecord,
  buildReconstructionRecord,
  buildShardEntry,
  checkShardEntry,
  GlobalRootError,
  globalLogEntryBytes,
  globalRootSigningBytes,
  parseGlobalLogEntry,
  shardEntryInclusionProof,
  signReconstructionRecord,
  verifyGlobalLogRecord,
  verifyGlobalRootRecord,
  verifyReconstructionRecord,
  verifyShardEntryInclusion,
  type GlobalRootRecord,
  type ShardEntry,
} from '../../../src/core/global-root/index.ts';
import { blake3, blake3Reference } from '../../../src/core/hash.ts';
import { consistencyProof, merkleRoot } from '../../../src/core/merkle/tree.ts';
import { epochTableHash } from '../../../src/core/routing.ts';
import {
  buildScenario,
  CLUSTER,
  coordinatorSigner,
  epochTable,
  keyOf,
  NAMESPACE,
  shardSigners,
  type Scenario,
} from './records-scenario.ts';

let s: Scenario;
const coordinatorKeys = (): string[] => [keyOf(coordinatorSigner)];
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof GlobalRootError ? err.code : `not a GlobalRootError: ${String(err)}`;
  }
  return undefined;
};
const copy = (r: GlobalRootRecord): GlobalRootRecord =>
  JSON.parse(JSON.stringify(r)) as GlobalRootRecord;

beforeAll(async () => {
  s = await buildScenario();
});

describe('global root record', () => {
  it('has the seed fields and the additions, entries in shard-id order', () => {
    const r = s.record;
    expect(r.type).toBe('global_root');
    expect(r.shard_roots.map((e) => [e.shard_id, e.status])).toEqual([
      [0, 'ok'],
      [1, 'ok'],
      [2, 'missing'],
    ]);
    expect(r.total_records_in_interval).toBe(
      s.logs[0]!.envelopes.length + s.logs[1]!.envelopes.length,
    );
    expect(r.routing_epoch).toBe(0);
    expect(r.routing_epoch_hash).toBe(epochTableHash(epochTable));
    expect(r.signature).toMatchObject({ key_name: coordinatorSigner.name, key_version: 3 });
  });
  it('global_merkle_root is the RFC 9162 tree over canonical entries (independent recomputation)', () => {
    const leaves = s.record.shard_roots.map((e) =>
      blake3Reference.hashLeaf(utf8.encode(canonicalize(e) as string)),
    );
    expect(s.record.global_merkle_root).toBe(toHex(merkleRoot(blake3Reference, leaves)));
  });
  it('is built the same from entries in any order', () => {
    const input = {
      globalRootId: 0,
      timestampNs: s.record.timestamp_ns,
      intervalStartNs: s.record.interval_start_ns,
      intervalEndNs: s.record.interval_end_ns,
      prevGlobalRoot: null,
      routing: epochTable,
    };
    const a = buildGlobalRootRecord({ ...input, shards: s.record.shard_roots });
    const b = buildGlobalRootRecord({ ...input, shards: [...s.record.shard_roots].reverse() });
    expect(b).toEqual(a);
    const { signature: _sig, ...unsigned } = s.record;
    expect(a).toEqual(unsigned);
  });
  it('records the first epoch while no epoch is in force yet, and the epoch at interval end after', () => {
    const table = {
      epochs: [
        { ...epochTable.epochs[0]!, epoch: 3, effective_from_ns: '2000' },
        { ...epochTable.epochs[0]!, epoch: 4, effective_from_ns: '3000' },
      ],
    };
    const at = (end: string) =>
      buildGlobalRootRecord({
        globalRootId: 0,
        timestampNs: end,
        intervalStartNs: '0',
        intervalEndNs: end,
        prevGlobalRoot: null,
        routing: table,
        shards: [],
      });
    expect(at('1000').routing_epoch).toBe(3);
    expect(at('2999').routing_epoch).toBe(3);
    expect(at('3000').routing_epoch).toBe(4);
    // No shards: the root of the empty tree.
    expect(at('1000').global_merkle_root).toBe(toHex(blake3Reference.emptyRoot()));
  });
  it('verifies with the coordinator key (and the shard checkpoints with shard keys)', () => {
    expect(verifyGlobalRootRecord(s.record, coordinatorKeys())).toEqual({
      key: `${coordinatorSigner.name}+${keyOf(coordinatorSigner).split('+')[1]}`,
    });
    expect(() =>
      verifyGlobalRootRecord(s.record, coordinatorKeys(), { shardKeys: shardSigners.map(keyOf) }),
    ).not.toThrow();
    expect(code(() => verifyGlobalRootRecord(s.record, [keyOf(shardSigners[0]!)]))).toBe(
      'unknown_key',
    );
    expect(
      code(() =>
        verifyGlobalRootRecord(s.record, coordinatorKeys(), {
          shardKeys: [keyOf(shardSigners[0]!)],
        }),
      ),
    ).toBe('bad_signature');
  });
  it('the signature is Ed25519 over the context line and the record without sig (checked with @noble)', async () => {
    const { sig, ...meta } = s.record.signature;
    const bytes = globalRootSigningBytes(s.record, meta);
    expect(globalRootSigningBytes(s.record)).toEqual(bytes);
    expect(utf8.decode(bytes.subarray(0, 25))).toBe('AgDR global log entry v1\n');
    const { signature: _s, ...rest } = s.record;
    expect(utf8.decode(bytes.subarray(25))).toBe(canonicalize({ ...rest, signature: meta }));
    expect(await noble.verifyAsync(fromBase64(sig), bytes, coordinatorSigner.publicKey)).toBe(true);
  });
  it.each([
    ['timestamp', (r: GlobalRootRecord) => void (r.timestamp_ns = '1'), 'bad_signature'],
    [
      'key_version (signed too)',
      (r: GlobalRootRecord) => void (r.signature.key_version = 4),
      'bad_signature',
    ],
    [
      'prev_global_root',
      (r: GlobalRootRecord) => void (r.prev_global_root = 'ab'.repeat(32)),
      'bad_signature',
    ],
    [
      'global_merkle_root',
      (r: GlobalRootRecord) => void (r.global_merkle_root = '00'.repeat(32)),
      'tree_mismatch',
    ],
    [
      'an entry',
      (r: GlobalRootRecord) => void (r.shard_roots[2]!.reason = 'other'),
      'tree_mismatch',
    ],
    [
      'the total',
      (r: GlobalRootRecord) => void (r.total_records_in_interval += 1),
      'totals_mismatch',
    ],
    ['entry order', (r: GlobalRootRecord) => void r.shard_roots.reverse(), 'invalid_record'],
    [
      'an extra field',
      (r: GlobalRootRecord) => void Object.assign(r, { note: 'x' }),
      'invalid_record',
    ],
    [
      'sig spelling',
      (r: GlobalRootRecord) => void (r.signature.sig = `${r.signature.sig.slice(0, 85)}x==`),
      'invalid_record',
    ],
  ])('tampering with %s is detected', (_name, tamper, want) => {
    const r = copy(s.record);
    tamper(r);
    expect(code(() => verifyGlobalRootRecord(r, coordinatorKeys()))).toBe(want);
  });
  it('shard entry inclusion proofs lead to global_merkle_root', () => {
    for (const e of s.record.shard_roots) {
      const p = shardEntryInclusionProof(s.record, e.shard_id);
      expect(p.tree_size).toBe(3);
      expect(() => verifyShardEntryInclusion(s.record, e, p)).not.toThrow();
      const other = s.record.shard_roots.find((x) => x.shard_id !== e.shard_id) as ShardEntry;
      expect(code(() => verifyShardEntryInclusion(s.record, other, p))).toBe('tree_mismatch');
    }
    expect(code(() => shardEntryInclusionProof(s.record, 7))).toBe('no_such_shard');
  });
  it('global log entries are canonical and parse strictly', () => {
    const bytes = globalLogEntryBytes(s.record);
    expect(parseGlobalLogEntry(bytes)).toEqual(s.record);
    const pretty = utf8.encode(JSON.stringify(s.record, null, 1));
    expect(code(() => parseGlobalLogEntry(pretty))).toBe('invalid_record');
    expect(code(() => parseGlobalLogEntry(utf8.encode('{')))).toBe('invalid_record');
  });
});

describe('shard entries', () => {
  const origin = shardOrigin(NAMESPACE, CLUSTER, 0);
  it('ok: root and size from the checkpoint, record_count since the previous seal', () => {
    const e = buildShardEntry({
      shardId: 0,
      origin,
      status: 'ok',
      checkpoint: s.full[0]!,
      previous: { treeSize: 2, root: new Uint8Array(32) },
    });
    expect(e.tree_size).toBe(s.logs[0]!.envelopes.length);
    expect(e.record_count).toBe(e.tree_size - 2);
    expect(e.root).toBe(toHex(merkleRoot(blake3, s.logs[0]!.leaves)));
  });
  it('missing/unverified: the last sealed root carried, a reason, no checkpoint', () => {
    const e = buildShardEntry({
      shardId: 0,
      origin,
      status: 'unverified',
      reason: 'consistency proof failed',
      previous: { treeSize: 5, root: new Uint8Array(32).fill(1) },
    });
    expect(e).toEqual({
      shard_id: 0,
      origin,
      status: 'unverified',
      reason: 'consistency proof failed',
      root: '01'.repeat(32),
      tree_size: 5,
      record_count: 0,
      checkpoint: null,
    });
  });
  it('an ok entry must match its checkpoint', () => {
    const e = buildShardEntry({ shardId: 0, origin, status: 'ok', checkpoint: s.full[0]! });
    expect(code(() => checkShardEntry({ ...e, tree_size: e.tree_size + 1 }))).toBe(
      'checkpoint_mismatch',
    );
    expect(code(() => checkShardEntry({ ...e, shard_id: 1 }))).toBe('invalid_record');
    expect(code(() => checkShardEntry({ ...e, reason: 'x' }))).toBe('invalid_record');
    expect(code(() => checkShardEntry({ ...e, checkpoint: s.full[1]! }))).toBe(
      'checkpoint_mismatch',
    );
  });
});

describe('reconstruction record', () => {
  const make = async (proofFrom = 0) => {
    const leaves = s.logs[2]!.leaves;
    const fromSize = 2;
    return buildReconstructionRecord({
      timestampNs: '1767225800000000000',
      shardId: 2,
      origin: shardOrigin(NAMESPACE, CLUSTER, 2),
      missedIntervals: [
        {
          global_root_id: 0,
          interval_start_ns: s.record.interval_start_ns,
          interval_end_ns: s.record.interval_end_ns,
          status: 'missing',
          reason: 'timeout after 5000 ms',
        },
      ],
      from: { treeSize: fromSize, root: merkleRoot(blake3, leaves.slice(0, fromSize)) },
      checkpoint: s.full[2]!,
      consistencyProof: consistencyProof(blake3, leaves, fromSize + proofFrom, leaves.length),
      prevGlobalRoot: s.record.global_merkle_root,
    });
  };
  it('names the missed intervals, seals the checkpoint, verifies (signature and consistency)', async () => {
    const r = await signReconstructionRecord(await make(), coordinatorSigner);
    expect(r.tree_size).toBe(s.logs[2]!.leaves.length);
    expect(r.missed_intervals).toHaveLength(1);
    expect(verifyReconstructionRecord(r, coordinatorKeys()).key).toMatch(/coordinator\+/);
    expect(() =>
      verifyGlobalLogRecord(r, coordinatorKeys(), { shardKeys: shardSigners.map(keyOf) }),
    ).not.toThrow();
    expect(parseGlobalLogEntry(globalLogEntryBytes(r))).toEqual(r);
    const tampered = { ...r, prev_global_root: null };
    expect(code(() => verifyReconstructionRecord(tampered, coordinatorKeys()))).toBe(
      'bad_signature',
    );
    expect(code(() => verifyGlobalRootRecord(r, coordinatorKeys()))).toBe('invalid_record');
  });
  it('refuses a consistency proof that does not hold', async () => {
    await expect(make(1)).rejects.toThrow(expect.objectContaining({ code: 'consistency' }));
  });
  it('refuses a checkpoint of another shard', async () => {
    const other = await signCheckpoint(
      { origin: shardOrigin(NAMESPACE, CLUSTER, 1), size: 1, rootHash: s.logs[1]!.leaves[0]! },
      shardSigners[1]!,
    );
    await expect(
      (async () => {
        const r = await make();
        return buildReconstructionRecord({
          timestampNs: r.timestamp_ns,
          shardId: 2,
          origin: r.origin,
          missedIntervals: r.missed_intervals,
          from: null,
          checkpoint: other,
          consistencyProof: [],
          prevGlobalRoot: null,
        });
      })(),
    ).rejects.toThrow(expect.objectContaining({ code: 'checkpoint_mismatch' }));
  });
});
