// The shard's entries as the log writer builds them: the envelope of each prepared decision,
// spliced with its own seq straight into the group commit's buffer (no per-decision allocation
// beyond a view of the canonical bytes).
import { encodeEnvelopeInto, envelopeMaxLength, type EnvelopeMeta } from '../core/envelope.ts';
import type { EntryWriter } from '../log-store/index.ts';
import type { PackedBatch } from './prepare.ts';

/** The parts of a prepared batch an envelope is built from. */
export type EnvelopeSource = Pick<
  PackedBatch,
  'canonical' | 'ends' | 'epochs' | 'keys' | 'strategies'
>;

export class EnvelopeWriter implements EntryWriter {
  readonly count: number;
  readonly #source: EnvelopeSource;
  readonly #decisions: readonly number[];
  // One meta object, refilled per entry (the encoder reads it synchronously).
  readonly #meta: EnvelopeMeta;

  /** Entry k is the envelope of decision `decisions[k]` of `source`. */
  constructor(
    source: EnvelopeSource,
    decisions: readonly number[],
    shard: number,
    timestampNs: string,
  ) {
    this.#source = source;
    this.#decisions = decisions;
    this.count = decisions.length;
    this.#meta = {
      shard,
      seq: 0,
      timestamp_ns: timestampNs,
      routing: { epoch: 0, key: '', strategy: '' },
    };
  }

  maxLength(k: number, seq: number): number {
    const i = this.#fill(k, seq);
    const start = i === 0 ? 0 : (this.#source.ends[i - 1] as number);
    return envelopeMaxLength(this.#meta, (this.#source.ends[i] as number) - start);
  }

  write(k: number, seq: number, target: Uint8Array, offset: number): number {
    const i = this.#fill(k, seq);
    const s = this.#source;
    const start = i === 0 ? 0 : (s.ends[i - 1] as number);
    return encodeEnvelopeInto(this.#meta, s.canonical.subarray(start, s.ends[i]), target, offset);
  }

  /** Points the meta at entry k; returns its decision's position in the source. */
  #fill(k: number, seq: number): number {
    const i = this.#decisions[k] as number;
    const m = this.#meta;
    m.seq = seq;
    m.routing.epoch = this.#source.epochs[i] as number;
    m.routing.key = this.#source.keys[i] as string;
    m.routing.strategy = this.#source.strategies[i] as string;
    return i;
  }
}
