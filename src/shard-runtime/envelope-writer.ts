// The shard's entries as the log writer builds them: the envelope of each prepared decision,
// spliced with its own seq straight into the group commit's buffer (shard and timestamp encoded
// once per call; the decision and its routing are copied as bytes from where the prepare step
// packed them).
import { startOf } from '../core/bytes.ts';
import { EnvelopeTemplate } from '../core/envelope.ts';
import type { EntryWriter } from '../log-store/index.ts';
import { canonicalSource, type PackedBatch } from './prepare.ts';

/** The parts of a prepared batch an envelope is built from. */
export type EnvelopeSource = Pick<
  PackedBatch,
  'body' | 'canonical' | 'inBody' | 'starts' | 'ends' | 'routing' | 'routingEnds'
>;

export class EnvelopeWriter implements EntryWriter {
  readonly count: number;
  readonly #source: EnvelopeSource;
  readonly #decisions: readonly number[];
  readonly #template: EnvelopeTemplate;

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
    return this.#template.maxRoutedLength(
      (s.routingEnds[i] as number) - startOf(s.routingEnds, i),
      (s.ends[i] as number) - (s.starts[i] as number),
    );
  }

  write(k: number, seq: number, target: Uint8Array, offset: number): number {
    const s = this.#source;
    const i = this.#decisions[k] as number;
    return this.#template.encodeRoutedInto(
      s.routing,
      startOf(s.routingEnds, i),
      s.routingEnds[i] as number,
      seq,
      canonicalSource(s, i),
      s.starts[i] as number,
      s.ends[i] as number,
      target,
      offset,
    );
  }
}
