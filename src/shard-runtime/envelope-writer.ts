// The shard's entries as the log writer builds them: the envelope of each prepared decision,
// spliced with its own seq straight into the group commit's buffer (shard and timestamp encoded
// once per call; the decision bytes are read where the prepare step packed them).
import { EnvelopeTemplate, type EnvelopeRouting } from '../core/envelope.ts';
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
  readonly #template: EnvelopeTemplate;
  // One routing object, refilled per entry (the encoder reads it synchronously).
  readonly #routing: EnvelopeRouting = { epoch: 0, key: '', strategy: '' };

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
    this.#template = new EnvelopeTemplate(shard, timestampNs);
  }

  maxLength(k: number, _seq: number): number {
    const s = this.#source;
    const i = this.#decisions[k] as number;
    const start = i === 0 ? 0 : (s.ends[i - 1] as number);
    return this.#template.maxLength(
      s.keys[i] as string,
      s.strategies[i] as string,
      (s.ends[i] as number) - start,
    );
  }

  write(k: number, seq: number, target: Uint8Array, offset: number): number {
    const s = this.#source;
    const i = this.#decisions[k] as number;
    const r = this.#routing;
    r.epoch = s.epochs[i] as number;
    r.key = s.keys[i] as string;
    r.strategy = s.strategies[i] as string;
    const start = i === 0 ? 0 : (s.ends[i - 1] as number);
    return this.#template.encodeInto(
      r,
      seq,
      s.canonical,
      start,
      s.ends[i] as number,
      target,
      offset,
    );
  }
}
