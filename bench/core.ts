// `npm run bench core`: the hot path of the log core on 256-byte records, one core.
//   - leaf hash (hash-wasm BLAKE3): the baseline
//   - leaf hash + compact-range append (what the log writer does per record), and its ratio to
//     the baseline, measured in alternating rounds of the same run
//   - the @noble/hashes reference BLAKE3 for comparison
//   - inclusion / consistency proof generation from stored nodes, and verification
//   - Ed25519 sign / verify with node:crypto against @noble/ed25519
import { randomBytes } from 'node:crypto';
import * as noble from '@noble/ed25519';
import type { BenchSuite } from './run.ts';
import { blake3, blake3Reference } from '../src/core/hash.ts';
import { CompactRange } from '../src/core/merkle/compact.ts';
import {
  consistencyPlan,
  inclusionPlan,
  proofFromNodes,
  type ProofPlan,
} from '../src/core/merkle/nodes.ts';
import { verifyConsistency, verifyInclusion } from '../src/core/merkle/proof.ts';
import { ed25519SignerFromSeed, verifyEd25519 } from '../src/core/signer.ts';
import { rate, rateAsync, round, ratio } from './measure.ts';

const RECORD_BYTES = 256;

export const run: BenchSuite = async ({ quick }) => {
  const ms = quick ? 150 : 1000;
  const rounds = quick ? 2 : 5;
  // Distinct records, reused cyclically so input generation is not measured.
  const records = Array.from({ length: 4096 }, () => new Uint8Array(randomBytes(RECORD_BYTES)));
  const rec = (i: number): Uint8Array => records[i & 4095] as Uint8Array;

  // Baseline and append in alternating rounds; best of each (least disturbed by neighbours).
  let raw = 0;
  let append = 0;
  let appendWithSink = 0;
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    raw = Math.max(
      raw,
      rate(ms, 1024, (i) => blake3.hashLeaf(rec(i))),
    );
    const range = new CompactRange(blake3);
    append = Math.max(
      append,
      rate(ms, 1024, (i) => range.append(blake3.hashLeaf(rec(i)))),
    );
    const range2 = new CompactRange(blake3);
    appendWithSink = Math.max(
      appendWithSink,
      rate(ms, 1024, (i) =>
        range2.append(blake3.hashLeaf(rec(i)), (level) => {
          sink += level;
        }),
      ),
    );
  }
  if (sink === 0) throw new Error('node sink was never called');
  const reference = rate(ms, 256, (i) => blake3Reference.hashLeaf(rec(i)));

  // A stored tree: every perfect-subtree node, as a log's hash tiles hold them.
  const size = quick ? 1 << 16 : 1 << 20;
  const levels: Uint8Array[][] = [[]];
  const tree = new CompactRange(blake3);
  for (let i = 0; i < size; i++) {
    tree.append(blake3.hashLeaf(rec(i)), (level, index, hash) => {
      (levels[level] ??= [])[index] = hash;
    });
  }
  const root = tree.root();
  const fetch = (plan: ProofPlan): Uint8Array[] =>
    plan.nodes.map((n) => levels[n.level]?.[n.index] as Uint8Array);
  const treeSize = size - 123; // unbalanced: proofs need the ephemeral right-border node
  const sizedRoot = (() => {
    const r = new CompactRange(blake3);
    for (let i = 0; i < treeSize; i++) r.append(levels[0]?.[i] as Uint8Array);
    return r.root();
  })();
  const idx = (i: number): number => (i * 7919) % treeSize;
  const inclusionGen = rate(ms, 256, (i) => {
    const plan = inclusionPlan(idx(i), treeSize);
    proofFromNodes(blake3, plan, fetch(plan));
  });
  const proofs = Array.from({ length: 256 }, (_, i) => {
    const plan = inclusionPlan(idx(i), treeSize);
    return proofFromNodes(blake3, plan, fetch(plan));
  });
  const inclusionVerify = rate(ms, 256, (i) =>
    verifyInclusion(
      blake3,
      idx(i & 255),
      treeSize,
      levels[0]?.[idx(i & 255)] as Uint8Array,
      proofs[i & 255] as Uint8Array[],
      sizedRoot,
    ),
  );
  const m = Math.floor(treeSize / 3) + 5;
  const mRoot = (() => {
    const r = new CompactRange(blake3);
    for (let i = 0; i < m; i++) r.append(levels[0]?.[i] as Uint8Array);
    return r.root();
  })();
  const cplan = consistencyPlan(m, size);
  const cproof = proofFromNodes(blake3, cplan, fetch(cplan));
  const consistencyGen = rate(ms, 256, () => {
    const plan = consistencyPlan(m, size);
    proofFromNodes(blake3, plan, fetch(plan));
  });
  const consistencyVerify = rate(ms, 256, () =>
    verifyConsistency(blake3, m, size, cproof, mRoot, root),
  );

  // Ed25519 over a checkpoint-sized message.
  const seed = new Uint8Array(32).fill(3);
  const signer = ed25519SignerFromSeed('bench', seed);
  const msg = new Uint8Array(randomBytes(120));
  const sig = await signer.sign(msg);
  const signNode = await rateAsync(ms, () => signer.sign(msg));
  const signNoble = await rateAsync(ms, () => noble.signAsync(msg, seed));
  const verifyNode = rate(ms, 64, () => verifyEd25519(signer.publicKey, msg, sig));
  const verifyNoble = await rateAsync(ms, () => noble.verifyAsync(sig, msg, signer.publicKey));

  return {
    record_bytes: RECORD_BYTES,
    leaf_hash_per_s: round(raw),
    leaf_append_per_s: round(append),
    leaf_append_ratio_to_leaf_hash: ratio(append, raw),
    leaf_append_with_node_sink_per_s: round(appendWithSink),
    noble_leaf_hash_per_s: round(reference),
    wasm_to_noble_ratio: ratio(raw, reference),
    proof_tree_size: treeSize,
    inclusion_proof_from_nodes_per_s: round(inclusionGen),
    inclusion_verify_per_s: round(inclusionVerify),
    consistency_proof_from_nodes_per_s: round(consistencyGen),
    consistency_verify_per_s: round(consistencyVerify),
    ed25519_sign_node_per_s: round(signNode),
    ed25519_sign_noble_per_s: round(signNoble),
    ed25519_verify_node_per_s: round(verifyNode),
    ed25519_verify_noble_per_s: round(verifyNoble),
    ed25519_verify_node_to_noble_ratio: ratio(verifyNode, verifyNoble),
  };
};
