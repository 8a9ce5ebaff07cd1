// Receipts of one ingest call and their JSON. A batch of thousands of new decisions is answered
// without an object or a string per receipt: the prepare step renders every receipt's tail
// (record_id and routing, known before the append) as bytes, and the response is assembled in
// one buffer from those tails, the seq numbers and the leaf hashes. The bytes are exactly
// `JSON.stringify` of the receipt objects (tests compare both).
import { toHex } from '../core/bytes.ts';
import type { EnvelopeRouting } from '../core/envelope.ts';
import type { AppendedRange } from '../log-store/index.ts';

export interface Receipt {
  shard_id: number;
  seq: number;
  leaf_hash: string;
  record_id: string;
  routing: EnvelopeRouting;
}

/** What a receipt of a new decision is built from (a prepared batch has all of it). */
export interface ReceiptSource {
  recordIds: readonly string[];
  epochs: ArrayLike<number>;
  keys: readonly string[];
  strategies: readonly string[];
  /** `receiptTail` of decision i as UTF-8, ending at tailEnds[i]. */
  tails: Uint8Array;
  tailEnds: Uint32Array;
}

/** The JSON of a receipt after its leaf hash: `,"record_id":…,"routing":{…}}`. */
export function receiptTail(recordId: string, routing: EnvelopeRouting): string {
  return (
    `,"record_id":${JSON.stringify(recordId)},"routing":{"epoch":${routing.epoch}` +
    `,"key":${JSON.stringify(routing.key)},"strategy":${JSON.stringify(routing.strategy)}}}`
  );
}

/** The receipt of decision i of `source`, appended as entry k of `range`. */
export function appendedReceipt(
  shardId: number,
  source: Omit<ReceiptSource, 'tails' | 'tailEnds'>,
  i: number,
  range: AppendedRange,
  k: number,
): Receipt {
  return {
    shard_id: shardId,
    seq: range.first + k,
    leaf_hash: toHex(range.leafHash(k)),
    record_id: source.recordIds[i] as string,
    routing: {
      epoch: source.epochs[i] as number,
      key: source.keys[i] as string,
      strategy: source.strategies[i] as string,
    },
  };
}

const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');
const BATCH_OPEN = Buffer.from('{"receipts":[');
const BATCH_CLOSE = Buffer.from(']}');
// `{"shard_id":N,"seq":N,"leaf_hash":"<64 hex>"` with room for the largest safe integers.
const HEAD_MAX = 80 + 2 * 32;

export class ReceiptList {
  readonly count: number;
  readonly #shardId: number;
  readonly #source: ReceiptSource;
  /** k of decision i in this call's append, or -1 (not appended by this call). */
  readonly #appendedAs: Int32Array;
  /** For a repeat of an earlier line of the same request: that line's index, else -1. */
  readonly #sameAs: Int32Array;
  readonly #others: (Receipt | undefined)[];
  /** JSON of each of #others, made once (sized, then written). */
  readonly #othersJson: (string | undefined)[];
  #range: AppendedRange | undefined;

  constructor(shardId: number, source: ReceiptSource, count: number) {
    this.#shardId = shardId;
    this.#source = source;
    this.count = count;
    this.#appendedAs = new Int32Array(count).fill(-1);
    this.#sameAs = new Int32Array(count).fill(-1);
    this.#others = new Array<Receipt | undefined>(count);
    this.#othersJson = new Array<string | undefined>(count);
  }

  /** Decision decisions[k] is entry k of `range`. */
  setAppended(range: AppendedRange, decisions: readonly number[]): void {
    this.#range = range;
    for (let k = 0; k < decisions.length; k++) this.#appendedAs[decisions[k] as number] = k;
  }

  /** Decision i's receipt is that of an earlier record (a duplicate record_id). */
  setExisting(i: number, receipt: Receipt): void {
    this.#others[i] = receipt;
    this.#othersJson[i] = JSON.stringify(receipt);
  }

  /** Decision i repeats decision `earlier` of the same request. */
  setSameAs(i: number, earlier: number): void {
    this.#sameAs[i] = earlier;
  }

  /** Whether decision i was appended by this call (false: it has an earlier original). */
  created(i: number): boolean {
    return this.#appendedAs[i] !== -1;
  }

  /** How many decisions had an earlier original (nothing appended for them). */
  duplicates(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.#appendedAs[i] === -1) n++;
    return n;
  }

  get(i: number): Receipt {
    const j = this.#resolve(i);
    const k = this.#appendedAs[j] as number;
    if (k === -1) return this.#existing(j);
    return appendedReceipt(this.#shardId, this.#source, j, this.#range as AppendedRange, k);
  }

  /** Every receipt as an array (tests and small requests). */
  toArray(): Receipt[] {
    return Array.from({ length: this.count }, (_, i) => this.get(i));
  }

  /** UTF-8 JSON of receipt i. */
  json(i: number): Buffer {
    const out = Buffer.allocUnsafe(this.#maxLength(i));
    return out.subarray(0, this.#write(i, out, 0));
  }

  /** UTF-8 JSON of `{"receipts":[…]}`. */
  batchJson(): Buffer {
    let max = BATCH_OPEN.length + BATCH_CLOSE.length + this.count;
    for (let i = 0; i < this.count; i++) max += this.#maxLength(i);
    const out = Buffer.allocUnsafe(max);
    out.set(BATCH_OPEN, 0);
    let at = BATCH_OPEN.length;
    for (let i = 0; i < this.count; i++) {
      if (i > 0) out[at++] = 0x2c; // ,
      at = this.#write(i, out, at);
    }
    out.set(BATCH_CLOSE, at);
    return out.subarray(0, at + BATCH_CLOSE.length);
  }

  #resolve(i: number): number {
    const earlier = this.#sameAs[i] as number;
    return earlier === -1 ? i : earlier;
  }

  #existing(j: number): Receipt {
    const r = this.#others[j];
    if (r === undefined) throw new Error(`receipt ${j} was never settled`);
    return r;
  }

  #existingJson(j: number): string {
    const json = this.#othersJson[j];
    if (json === undefined) throw new Error(`receipt ${j} was never settled`);
    return json;
  }

  #maxLength(i: number): number {
    const j = this.#resolve(i);
    if (this.#appendedAs[j] === -1) return 3 * this.#existingJson(j).length;
    const s = this.#source;
    return HEAD_MAX + (s.tailEnds[j] as number) - (j === 0 ? 0 : (s.tailEnds[j - 1] as number));
  }

  /** Writes receipt i at `at`; returns the offset after it. */
  #write(i: number, out: Buffer, at: number): number {
    const j = this.#resolve(i);
    const k = this.#appendedAs[j] as number;
    if (k === -1) return at + out.write(this.#existingJson(j), at, 'utf8');
    const range = this.#range as AppendedRange;
    at += out.write(
      `{"shard_id":${this.#shardId},"seq":${range.first + k},"leaf_hash":"`,
      at,
      'latin1',
    );
    const hash = range.leafHash(k);
    for (let b = 0; b < hash.length; b++) {
      const v = hash[b] as number;
      out[at++] = HEX_DIGITS[v >> 4] as number;
      out[at++] = HEX_DIGITS[v & 15] as number;
    }
    out[at++] = 0x22; // "
    const s = this.#source;
    const start = j === 0 ? 0 : (s.tailEnds[j - 1] as number);
    out.set(s.tails.subarray(start, s.tailEnds[j]), at);
    return at + (s.tailEnds[j] as number) - start;
  }
}
