// A small, real deployment built in memory for the global-root and bundle tests: three shard
// logs of routed decision envelopes with real Merkle trees and Ed25519-signed checkpoints, a
// signed global root record, and a global log with its own signed checkpoint.
import { toHex, utf8 } from '../../../src/core/bytes.ts';
import { coordinatorOrigin, shardOrigin, signCheckpoint } from '../../../src/core/checkpoint.ts';
import { prepareDecision } from '../../../src/core/decision.ts';
import { encodeEnvelope } from '../../../src/core/envelope.ts';
import {
  buildGlobalRootRecord,
  buildShardEntry,
  globalLogEntryBytes,
  shardEntryInclusionProof,
  signGlobalRootRecord,
  type GlobalRootRecord,
} from '../../../src/core/global-root/index.ts';
import { blake3 } from '../../../src/core/hash.ts';
import { consistencyProof, inclusionProof, merkleRoot } from '../../../src/core/merkle/tree.ts';
import { verifierKeyString } from '../../../src/core/note.ts';
import { defaultKeyPointers, routeDecision, type EpochTable } from '../../../src/core/routing.ts';
import { upstreamRecord } from '../../fixtures/records.ts';
import { ed25519SignerFromSeed, type Signer } from '../../../src/core/signer.ts';
import type { EvidenceBundle } from '../../../src/core/bundle.ts';

export const NAMESPACE = 'default';
export const CLUSTER = 'demo';
export const SHARDS = 3;

export const epochTable: EpochTable = {
  epochs: [
    {
      epoch: 0,
      strategy: 'hash-by-entity',
      key_pointers: defaultKeyPointers('hash-by-entity'),
      bucket: 'jump',
      shards: SHARDS,
      params: {},
      effective_from_ns: '0',
    },
  ],
};

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b);
export const shardSigners: Signer[] = Array.from({ length: SHARDS }, (_, i) =>
  ed25519SignerFromSeed(shardOrigin(NAMESPACE, CLUSTER, i), seed(i + 1)),
);
export const coordinatorSigner = ed25519SignerFromSeed(
  coordinatorOrigin(NAMESPACE, CLUSTER),
  seed(0x42),
  3,
);
export const keyOf = (s: Signer): string => verifierKeyString(s.name, s.publicKey);

export interface ShardLog {
  envelopes: Uint8Array[];
  leaves: Uint8Array[];
}

export interface Scenario {
  logs: ShardLog[];
  /** Checkpoints at the first half of each log, and at its full size. */
  early: string[];
  full: string[];
  record: GlobalRootRecord;
  globalLogCheckpoint: string;
}

export async function buildScenario(decisionCount = 24): Promise<Scenario> {
  const logs: ShardLog[] = Array.from({ length: SHARDS }, () => ({ envelopes: [], leaves: [] }));
  for (let i = 0; i < decisionCount; i++) {
    const decision = upstreamRecord(i, {
      id: `agdr-${i}`,
      entity: `customer-${i}`,
      timestampNs: 1767225600000000000n + BigInt(i),
    });
    const prepared = prepareDecision(decision);
    const r = routeDecision(decision, epochTable);
    const log = logs[r.shard] as ShardLog;
    const envelope = encodeEnvelope(
      {
        shard: r.shard,
        seq: log.envelopes.length,
        timestamp_ns: (1767225600000000000n + BigInt(i) + 1000n).toString(),
        routing: { epoch: r.epoch, key: r.key, pointer: r.pointer, strategy: r.strategy },
      },
      prepared.canonical,
    );
    log.envelopes.push(envelope);
    log.leaves.push(blake3.hashLeaf(envelope));
  }
  const sign = (shard: number, size: number): Promise<string> =>
    signCheckpoint(
      {
        origin: shardOrigin(NAMESPACE, CLUSTER, shard),
        size,
        rootHash: merkleRoot(blake3, (logs[shard] as ShardLog).leaves.slice(0, size)),
        timestampNs: 1767225700000000000n,
      },
      shardSigners[shard] as Signer,
    );
  const early = await Promise.all(
    logs.map((l, i) => sign(i, Math.max(1, Math.floor(l.leaves.length / 2)))),
  );
  const full = await Promise.all(logs.map((l, i) => sign(i, l.leaves.length)));
  const entries = logs.map((_, i) =>
    i === 2
      ? buildShardEntry({
          shardId: i,
          origin: shardOrigin(NAMESPACE, CLUSTER, i),
          status: 'missing',
          reason: 'timeout after 5000 ms',
        })
      : buildShardEntry({
          shardId: i,
          origin: shardOrigin(NAMESPACE, CLUSTER, i),
          status: 'ok',
          checkpoint: full[i] as string,
        }),
  );
  const record = await signGlobalRootRecord(
    buildGlobalRootRecord({
      globalRootId: 0,
      timestampNs: '1767225700000000001',
      intervalStartNs: '1767225600000000000',
      intervalEndNs: '1767225700000000000',
      prevGlobalRoot: null,
      routing: epochTable,
      shards: entries,
    }),
    coordinatorSigner,
  );
  const globalLeaves = [blake3.hashLeaf(globalLogEntryBytes(record))];
  const globalLogCheckpoint = await signCheckpoint(
    {
      origin: coordinatorSigner.name,
      size: globalLeaves.length,
      rootHash: merkleRoot(blake3, globalLeaves),
      timestampNs: 1767225700000000002n,
    },
    coordinatorSigner,
  );
  return { logs, early, full, record, globalLogCheckpoint };
}

/** An evidence bundle for record `seq` of `shard`, proven to the early checkpoint. */
export function bundleFor(s: Scenario, shard: number, seq: number): EvidenceBundle {
  const log = s.logs[shard] as ShardLog;
  const earlySize = Math.max(1, Math.floor(log.leaves.length / 2));
  const size = seq < earlySize ? earlySize : log.leaves.length;
  const checkpoint = (seq < earlySize ? s.early : s.full)[shard] as string;
  return {
    format: 'agdr-evidence-bundle/v1',
    envelope: utf8.decode(log.envelopes[seq] as Uint8Array),
    shard: {
      origin: shardOrigin(NAMESPACE, CLUSTER, shard),
      checkpoint,
      inclusion_proof: inclusionProof(blake3, log.leaves, seq, size).map(toHex),
    },
    seal: {
      record: s.record,
      consistency_proof:
        size === log.leaves.length
          ? []
          : consistencyProof(blake3, log.leaves, size, log.leaves.length).map(toHex),
      entry_proof: shardEntryInclusionProof(s.record, shard),
    },
    routing: { epoch_table: epochTable },
    global_log: { index: 0, checkpoint: s.globalLogCheckpoint, inclusion_proof: [] },
    keys: [keyOf(shardSigners[shard] as Signer), keyOf(coordinatorSigner)],
  };
}
