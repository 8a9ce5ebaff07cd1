// `agdr verify --log DIR`: a full check of one log directory (a shard's or the global log).
// The log is opened read-only with fullCheck: every record and every stored tree node is
// re-hashed and every checkpoint's root compared with the tree, and nothing in the directory is
// changed (a torn tail or stale tree nodes a shard start would repair are only reported). Then
// every record is decoded and its seq checked, and with a trust bundle every stored checkpoint's
// signature is verified.
import { decodeEnvelope, EnvelopeError } from '../../core/envelope.ts';
import { parseCheckpointNote, verifyCheckpoint } from '../../core/checkpoint.ts';
import { toHex } from '../../core/bytes.ts';
import { MerkleLog } from '../../log-store/index.ts';
import { parseGlobalLogEntry, verifyGlobalLogRecord } from '../../core/global-root/index.ts';
import type { TrustBundle } from '../../clients/trust.ts';
import { reasonOf } from '../../core/errors.ts';
import type { ProgressBar } from './progress.ts';

export interface FsckReport {
  ok: boolean;
  dir: string;
  size: number;
  root: string;
  kind: 'shard' | 'global' | 'empty';
  checkedRecords: number;
  checkpoints: number;
  signaturesChecked: number;
  /** Unacknowledged records of a torn tail past `size`: left in place, not checked further. */
  tornTailRecords: number;
  /** Tile nodes past the durable marker, missing or stale: the check used recomputed values. */
  staleTileNodes: number;
  problems: string[];
}

const MAX_PROBLEMS = 20;

export async function fsckLog(
  dir: string,
  trust: TrustBundle | undefined,
  progress: ProgressBar,
): Promise<FsckReport> {
  const log = await MerkleLog.open({
    dir,
    readOnly: true,
    fullCheck: true,
    onProgress: (phase, done, total) => progress.update(`check ${phase}`, done, total),
  });
  const problems: string[] = [];
  const report: FsckReport = {
    ok: false,
    dir,
    size: log.size,
    root: toHex(log.root()),
    kind: 'empty',
    checkedRecords: log.recovery.checkedRecords,
    checkpoints: log.checkpointCount,
    signaturesChecked: 0,
    tornTailRecords: log.recovery.truncatedRecords,
    staleTileNodes: log.recovery.repairedTileNodes,
    problems,
  };
  const chain = new GlobalChain(trust);
  try {
    // Records: a shard log holds envelopes whose seq is their index; a global log holds signed
    // global root and reconstruction records whose ids and prev_global_root links form a chain.
    let shardId: number | undefined;
    for (let i = 0; i < log.size && problems.length < MAX_PROBLEMS; i++) {
      const bytes = await log.read(i);
      if (i === 0) report.kind = bytes[0] === 0x7b && isEnvelope(bytes) ? 'shard' : 'global';
      if (report.kind === 'shard') {
        try {
          const env = decodeEnvelope(bytes);
          if (env.meta.seq !== i) problems.push(`record ${i}: envelope seq is ${env.meta.seq}`);
          shardId ??= env.meta.shard;
          if (env.meta.shard !== shardId)
            problems.push(`record ${i}: envelope shard ${env.meta.shard}, log is shard ${shardId}`);
        } catch (err) {
          problems.push(`record ${i}: ${reasonOf(err)}`);
        }
      } else {
        try {
          chain.check(i, bytes);
        } catch (err) {
          problems.push(`entry ${i}: ${reasonOf(err)}`);
        }
      }
      if (i % 1024 === 0 || i === log.size - 1) progress.update('decode', i + 1, log.size);
    }
    // Checkpoints: well-formed, and signed by a trusted key when a bundle is given.
    const verifiers = trust?.keys.map((k) => k.verifier_key);
    for (let i = 0; i < log.checkpointCount && problems.length < MAX_PROBLEMS; i++) {
      const cp = await log.checkpointByIndex(i);
      try {
        const parsed = parseCheckpointNote(cp.note);
        if (parsed.size !== cp.size)
          problems.push(`checkpoint ${i}: note size ${parsed.size}, stored at ${cp.size}`);
        if (verifiers !== undefined) {
          verifyCheckpoint(cp.note, verifiers, parsed.origin);
          report.signaturesChecked++;
        }
      } catch (err) {
        problems.push(`checkpoint at size ${cp.size}: ${reasonOf(err)}`);
      }
      if (i % 256 === 0 || i === log.checkpointCount - 1)
        progress.update('checkpoints', i + 1, log.checkpointCount);
    }
  } finally {
    progress.done();
    await log.close();
  }
  report.signaturesChecked += chain.signatures;
  report.ok = problems.length === 0;
  return report;
}

/** Checks global log entries in order: strict form, signatures (with a trust bundle), links. */
class GlobalChain {
  readonly #keys: string[] | undefined;
  #nextId = 0;
  #prevRoot: string | null = null;
  signatures = 0;

  constructor(trust: TrustBundle | undefined) {
    this.#keys = trust?.keys.map((k) => k.verifier_key);
  }

  check(index: number, bytes: Uint8Array): void {
    const record = parseGlobalLogEntry(bytes);
    if (this.#keys !== undefined) {
      verifyGlobalLogRecord(record, this.#keys, { shardKeys: this.#keys });
      this.signatures++;
    }
    if (record.prev_global_root !== this.#prevRoot) {
      throw new Error(
        `prev_global_root ${record.prev_global_root} does not link to ${this.#prevRoot} (entry ${index})`,
      );
    }
    if (record.type === 'global_root') {
      if (record.global_root_id !== this.#nextId) {
        throw new Error(`global_root_id ${record.global_root_id}, expected ${this.#nextId}`);
      }
      this.#nextId++;
      this.#prevRoot = record.global_merkle_root;
    }
  }
}

function isEnvelope(bytes: Uint8Array): boolean {
  try {
    decodeEnvelope(bytes);
    return true;
  } catch (err) {
    if (err instanceof EnvelopeError) return false;
    throw err;
  }
}
