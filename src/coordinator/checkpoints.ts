// Checkpoints as the coordinator sees them: opening a shard's signed checkpoint against the
// trust bundle, checking append-only between two of them, and signing the global log's own.
import { blake3 } from '../core/hash.ts';
import type { Hasher } from '../core/hash.ts';
import { coordinatorOrigin, signCheckpoint, verifyCheckpoint } from '../core/checkpoint.ts';
import { verifyConsistency } from '../core/merkle/proof.ts';
import { VerifierSet } from '../core/note.ts';
import type { Signer } from '../core/signer.ts';
import type { CheckpointVerification } from './shard-check.ts';
import { trustedKey } from '../clients/trust.ts';
import type { TrustedKey } from '../clients/trust.ts';

/**
 * Signature and consistency checks for shard checkpoints. Parsed verifier keys are cached by
 * their strings, so a round over a thousand shards parses no key twice.
 */
export function checkpointVerification(hasher: Hasher = blake3): CheckpointVerification {
  const sets = new Map<string, VerifierSet>();
  return {
    openCheckpoint(note, origin, verifierKeys) {
      const k = verifierKeys.join('\n');
      let set = sets.get(k);
      if (set === undefined) sets.set(k, (set = new VerifierSet(verifierKeys)));
      const cp = verifyCheckpoint(note, set, origin);
      return { size: cp.size, root: cp.rootHash };
    },
    verifyConsistency(from, to, fromRoot, toRoot, proof) {
      verifyConsistency(hasher, from, to, proof, fromRoot, toRoot);
    },
  };
}

/** Signs the global log's checkpoint at `size` (origin agdr.dev/<ns>/<cluster>/coordinator). */
export function signGlobalCheckpoint(
  namespace: string,
  cluster: string,
  size: number,
  root: Uint8Array,
  timestampNs: bigint,
  signer: Signer,
): Promise<string> {
  return signCheckpoint(
    { origin: coordinatorOrigin(namespace, cluster), size, rootHash: root, timestampNs },
    signer,
  );
}

/** The coordinator's own trust-bundle entry (what GET /v1/keys adds for it). */
export function coordinatorKeyEntry(signer: Signer): TrustedKey {
  return trustedKey('coordinator', signer);
}
