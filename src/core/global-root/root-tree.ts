// The Root Merkle Tree: the RFC 9162 tree (BLAKE3) over the canonical JSON of each shard
// entry, in shard-id order; inclusion proofs of one entry.
import { toHex } from '../bytes.ts';
import { blake3 } from '../hash.ts';
import { canonicalBytes } from '../jcs.ts';
import { merkleRoot, inclusionProof } from '../merkle/tree.ts';
import { verifyInclusion, MerkleProofError } from '../merkle/proof.ts';
import { GlobalRootError, type GlobalRootRecord, type ShardEntry } from './types.ts';
import { hexHash } from './fields.ts';

/** Leaf hash of a shard entry: BLAKE3(0x00 || canonical JSON of the entry). */
export function shardEntryLeafHash(entry: ShardEntry): Uint8Array {
  return blake3.hashLeaf(canonicalBytes(entry));
}

/** RFC 9162 root over the entries, which must already be in shard-id order. */
export function rootMerkleTreeRoot(entries: readonly ShardEntry[]): Uint8Array {
  return merkleRoot(blake3, entries.map(shardEntryLeafHash));
}

export interface ShardEntryProof {
  shard_id: number;
  leaf_index: number;
  tree_size: number;
  /** Inclusion proof hashes, lowercase hex, leaf sibling first. */
  proof: string[];
}

/** Inclusion proof of one shard's entry in the record's Root Merkle Tree. */
export function shardEntryInclusionProof(
  record: GlobalRootRecord,
  shardId: number,
): ShardEntryProof {
  const index = record.shard_roots.findIndex((e) => e.shard_id === shardId);
  if (index < 0) {
    throw new GlobalRootError('no_such_shard', '$.shard_roots', `no entry for shard ${shardId}`);
  }
  const leaves = record.shard_roots.map(shardEntryLeafHash);
  const proof = inclusionProof(blake3, leaves, index, leaves.length);
  return {
    shard_id: shardId,
    leaf_index: index,
    tree_size: leaves.length,
    proof: proof.map(toHex),
  };
}

/** Checks `proof` leads from `entry` to the record's global_merkle_root (throws otherwise). */
export function verifyShardEntryInclusion(
  record: GlobalRootRecord,
  entry: ShardEntry,
  proof: ShardEntryProof,
): void {
  const hashes = proof.proof.map((h, i) => hexHash(h, `$.proof[${i}]`));
  try {
    verifyInclusion(
      blake3,
      proof.leaf_index,
      proof.tree_size,
      shardEntryLeafHash(entry),
      hashes,
      hexHash(record.global_merkle_root, '$.global_merkle_root'),
    );
  } catch (err) {
    if (err instanceof MerkleProofError) {
      throw new GlobalRootError(
        'tree_mismatch',
        '$.proof',
        `shard entry inclusion: ${err.message}`,
      );
    }
    throw err;
  }
}
