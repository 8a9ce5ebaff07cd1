// Proofs from stored nodes. A log stores the hash of every perfect subtree (level, index) it
// has completed (hash tiles). An RFC 9162 inclusion or consistency proof is made of such
// nodes, except at most one "ephemeral" node on the right border of an unbalanced tree: the
// root of the incomplete subtree over [end, size), which is folded from the perfect subtrees
// covering that range. A ProofPlan lists the nodes to fetch and where that fold happens.
import type { Hasher } from '../hash.ts';
import { MerkleProofError } from './proof.ts';
import { isSafeSize, pow2, rangeNodes, trailingZeros, type NodeId } from './node-id.ts';

export type { NodeId };

export interface ProofPlan {
  /** Nodes to fetch, in proof order. */
  readonly nodes: readonly NodeId[];
  /**
   * nodes[begin, end) cover the ephemeral right-border node, lowest level (rightmost) first;
   * they fold into one proof hash: acc = h[begin]; acc = hashChildren(h[i], acc) for the rest.
   * Null when the proof has no ephemeral node.
   */
  readonly ephemeral: { readonly begin: number; readonly end: number } | null;
}

function sibling(node: NodeId): NodeId {
  return { level: node.level, index: node.index % 2 === 0 ? node.index + 1 : node.index - 1 };
}

/**
 * The plan for the path from node (level, index), complete in the tree of `size` leaves, up to
 * the root; `withStart` puts the node itself first (consistency proofs).
 */
function pathPlan(level: number, index: number, size: number, withStart: boolean): ProofPlan {
  const sizeAtLevel = Math.floor(size / pow2(level));
  // The fork is the largest perfect subtree that contains the start node: the first ancestor
  // whose parent would reach past `size`.
  let inner = 0;
  while (Math.floor(index / pow2(inner + 1)) !== Math.floor(sizeAtLevel / pow2(inner + 1))) inner++;
  const forkLevel = level + inner;
  const forkBegin = Math.floor(index / pow2(inner)) * pow2(forkLevel);
  const forkEnd = forkBegin + pow2(forkLevel);

  const nodes: NodeId[] = [];
  let node: NodeId = { level, index };
  if (withStart) nodes.push(node);
  for (let i = 0; i < inner; i++) {
    nodes.push(sibling(node));
    node = { level: node.level + 1, index: Math.floor(node.index / 2) };
  }
  const right = rangeNodes(forkEnd, size).reverse();
  const ephemeral =
    right.length > 0 ? { begin: nodes.length, end: nodes.length + right.length } : null;
  nodes.push(...right);
  nodes.push(...rangeNodes(0, forkBegin).reverse());
  return { nodes, ephemeral };
}

/** The nodes of the inclusion proof of leaf `index` in the tree of `size` leaves. */
export function inclusionPlan(index: number, size: number): ProofPlan {
  if (!isSafeSize(size)) throw new MerkleProofError('invalid_size', `invalid tree size ${size}`);
  if (!isSafeSize(index) || index >= size) {
    throw new MerkleProofError('index_out_of_range', `leaf index ${index} >= tree size ${size}`);
  }
  return pathPlan(0, index, size, false);
}

/** The nodes of the consistency proof from size1 to size2, 0 < size1 <= size2. */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  if (!isSafeSize(size1) || !isSafeSize(size2) || size1 === 0 || size1 > size2) {
    throw new MerkleProofError(
      'invalid_size',
      `consistency needs 0 < size1 <= size2, got ${size1}, ${size2}`,
    );
  }
  if (size1 === size2) return { nodes: [], ephemeral: null };
  // The proof climbs from the last perfect subtree of the old tree. If that subtree is the
  // whole old tree (size1 a power of two), the verifier already has it as root1.
  const level = trailingZeros(size1);
  const index = (size1 - pow2(level)) / pow2(level);
  return pathPlan(level, index, size2, index !== 0);
}

/** Builds the proof from the hashes of `plan.nodes`, fetched in the same order. */
export function proofFromNodes(
  hasher: Hasher,
  plan: ProofPlan,
  hashes: readonly Uint8Array[],
): Uint8Array[] {
  if (hashes.length !== plan.nodes.length) {
    throw new MerkleProofError(
      'wrong_proof_length',
      `plan needs ${plan.nodes.length} node hashes, got ${hashes.length}`,
    );
  }
  for (const h of hashes) {
    if (h.length !== hasher.size) {
      throw new MerkleProofError('bad_hash_length', `node hash of ${h.length} bytes`);
    }
  }
  const eph = plan.ephemeral;
  if (eph === null) return hashes.slice();
  let acc = hashes[eph.begin] as Uint8Array;
  for (let i = eph.begin + 1; i < eph.end; i++)
    acc = hasher.hashChildren(hashes[i] as Uint8Array, acc);
  return [...hashes.slice(0, eph.begin), acc, ...hashes.slice(eph.end)];
}
