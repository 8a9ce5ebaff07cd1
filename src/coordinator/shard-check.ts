// One shard, one interval: fetch its latest signed checkpoint, verify the signature against
// the trust bundle, and check append-only from the checkpoint this coordinator last sealed for
// it. The outcome is `ok` (seal it), `missing` (no usable answer: unreachable, timeout, HTTP
// error) or `unverified` (an answer that fails verification: bad signature, wrong origin, a
// smaller tree, a different root at the same size, a failing consistency proof). An
// unverified checkpoint is never sealed.
import { bytesEqual, toHex } from '../core/bytes.ts';
import { reasonOf } from '../core/errors.ts';

/** What the coordinator keeps of the last checkpoint it sealed for a shard. */
export interface SealedCheckpoint {
  size: number;
  root: Uint8Array;
}

/** A verified shard checkpoint. */
export interface ShardCheckpoint {
  size: number;
  root: Uint8Array;
  /** The signed note exactly as the shard served it. */
  note: string;
}

/** How to read one shard (HTTP in production; anything in tests and benchmarks). */
export interface ShardReader {
  latestCheckpoint(signal: AbortSignal): Promise<string>;
  consistencyProof(from: number, to: number, signal: AbortSignal): Promise<Uint8Array[]>;
}

/** Verification primitives, from src/core. Both throw on failure with a reason. */
export interface CheckpointVerification {
  /** Opens a signed checkpoint note: signature by one of `verifierKeys` and origin `origin`. */
  openCheckpoint(
    note: string,
    origin: string,
    verifierKeys: string[],
  ): { size: number; root: Uint8Array };
  verifyConsistency(
    from: number,
    to: number,
    fromRoot: Uint8Array,
    toRoot: Uint8Array,
    proof: Uint8Array[],
  ): void;
}

export type ShardObservation =
  | {
      status: 'ok';
      checkpoint: ShardCheckpoint;
      /** Consistency proof from the last sealed size (empty when nothing was sealed before or the size did not change). */
      consistency: Uint8Array[];
    }
  | { status: 'missing'; reason: string }
  | { status: 'unverified'; reason: string; note?: string };

/** Fails the check as unverified: the shard answered, but with something we must not seal. */
class Unverified extends Error {
  readonly note: string | undefined;
  constructor(reason: string, note?: string) {
    super(reason);
    this.note = note;
  }
}

export async function checkShard(
  reader: ShardReader,
  origin: string,
  verifierKeys: string[],
  sealed: SealedCheckpoint | undefined,
  verification: CheckpointVerification,
  signal: AbortSignal,
): Promise<ShardObservation> {
  let note: string;
  try {
    note = await reader.latestCheckpoint(signal);
  } catch (err) {
    return { status: 'missing', reason: `checkpoint fetch failed: ${reasonOf(err)}` };
  }
  try {
    if (verifierKeys.length === 0)
      throw new Unverified(`no trusted key for origin ${origin}`, note);
    let opened: { size: number; root: Uint8Array };
    try {
      opened = verification.openCheckpoint(note, origin, verifierKeys);
    } catch (err) {
      throw new Unverified(`checkpoint rejected: ${reasonOf(err)}`, note);
    }
    const checkpoint: ShardCheckpoint = { size: opened.size, root: opened.root, note };
    if (sealed === undefined || sealed.size === 0) {
      return { status: 'ok', checkpoint, consistency: [] };
    }
    if (opened.size < sealed.size) {
      throw new Unverified(`tree shrank from sealed size ${sealed.size} to ${opened.size}`, note);
    }
    if (opened.size === sealed.size) {
      if (!bytesEqual(opened.root, sealed.root)) {
        throw new Unverified(
          `root at sealed size ${sealed.size} changed from ${toHex(sealed.root)} to ${toHex(opened.root)} (fork)`,
          note,
        );
      }
      return { status: 'ok', checkpoint, consistency: [] };
    }
    let proof: Uint8Array[];
    try {
      proof = await reader.consistencyProof(sealed.size, opened.size, signal);
    } catch (err) {
      // No answer is "missing", not "unverified": the shard may be fine and merely slow.
      return { status: 'missing', reason: `consistency proof fetch failed: ${reasonOf(err)}` };
    }
    try {
      verification.verifyConsistency(sealed.size, opened.size, sealed.root, opened.root, proof);
    } catch (err) {
      throw new Unverified(
        `consistency from sealed size ${sealed.size} to ${opened.size} failed: ${reasonOf(err)}`,
        note,
      );
    }
    return { status: 'ok', checkpoint, consistency: proof };
  } catch (err) {
    if (err instanceof Unverified) {
      const out: ShardObservation = { status: 'unverified', reason: err.message };
      if (err.note !== undefined) out.note = err.note;
      return out;
    }
    throw err;
  }
}
