// Receipts of one ingest call and their JSON. A batch of thousands of new decisions is answered
// without an object or a string per receipt: the prepare step renders every decision's routing
// as canonical JSON bytes (the same bytes its envelope holds), and the response is assembled in
// one buffer from the seq numbers, the leaf hashes, the record_ids and those routing bytes. The
// bytes are exactly `JSON.stringify` of the receipt objects (tests compare both), in the one form
// core/receipt-json.ts defines (and clients read back).
import { copyBytes, startOf, toHex, writeDecimal } from '../core/bytes.ts';
import type { EnvelopeRouting } from '../core/envelope.ts';
import {
  BATCH_CLOSE,
  BATCH_OPEN,
  LEAF_HASH,
  RECORD_ID,
  ROUTING,
  SEQ,
  SHARD_ID,
  type Receipt,
} from '../core/receipt-json.ts';
import type { AppendedRange } from '../log-store/index.ts';
import { recordIdAt, type IdList } from './record-ids.ts';

export type { Receipt };

/** What a receipt of a new decision is built from (a prepared batch has all of it). */
export interface ReceiptSource extends IdList {
  /** Decision i's routing as `routingJson` (UTF-8), ending at routingEnds[i]. */
  routing: Uint8Array;
  routingEnds: Uint32Array;
}

/** Decision i's routing, parsed back from its rendered bytes (for the few receipts built as objects). */
function routingOf(source: ReceiptSource, i: number): EnvelopeRouting {
  const start = startOf(source.routingEnds, i);
  const text = Buffer.from(
    source.routing.buffer,
    source.routing.byteOffset,
    source.routing.length,
  ).toString('utf8', start, source.routingEnds[i] as number);
  const r = JSON.parse(text) as EnvelopeRouting;
  return { epoch: r.epoch, key: r.key, pointer: r.pointer, strategy: r.strategy };
}

/** The receipt of decision i of `source`, appended as entry k of `range`. */
export function appendedReceipt(
  shardId: number,
  source: ReceiptSource,
  i: number,
  range: AppendedRange,
  k: number,
): Receipt {
  return {
    shard_id: shardId,
    seq: range.first + k,
    leaf_hash: toHex(range.leafHash(k)),
    record_id: recordIdAt(source, i),
    routing: routingOf(source, i),
  };
}

/** Digits of the largest safe integer. */
const MAX_INT_DIGITS = 16;
/** A new decision's receipt without its record_id and routing (record_ids are ASCII). */
const FIXED_MAX =
  SHARD_ID.length +
  MAX_INT_DIGITS +
  SEQ.length +
  MAX_INT_DIGITS +
  LEAF_HASH.length +
  64 +
  RECORD_ID.length +
  ROUTING.length +
  1;

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
  /** `{"shard_id":N`, the start of every receipt of this shard. */
  readonly #head: Uint8Array;

  constructor(shardId: number, source: ReceiptSource, count: number) {
    this.#shardId = shardId;
    const head = new Uint8Array(SHARD_ID.length + MAX_INT_DIGITS);
    head.set(SHARD_ID, 0);
    this.#head = head.subarray(0, writeDecimal(head, SHARD_ID.length, shardId));
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
    const out = Buffer.allocUnsafe(this.batchJsonMaxLength());
    return out.subarray(0, this.writeBatchJson(out));
  }

  /** An upper bound of the length of `batchJson()`. */
  batchJsonMaxLength(): number {
    let max = BATCH_OPEN.length + BATCH_CLOSE.length + this.count;
    for (let i = 0; i < this.count; i++) max += this.#maxLength(i);
    return max;
  }

  /** Writes `batchJson()` at the start of `out` (batchJsonMaxLength() bytes long at least). */
  writeBatchJson(out: Buffer): number {
    out.set(BATCH_OPEN, 0);
    let at = BATCH_OPEN.length;
    for (let i = 0; i < this.count; i++) {
      if (i > 0) out[at++] = 0x2c; // ,
      at = this.#write(i, out, at);
    }
    out.set(BATCH_CLOSE, at);
    return at + BATCH_CLOSE.length;
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
    const routing = (s.routingEnds[j] as number) - startOf(s.routingEnds, j);
    const id = (s.idEnds[j] as number) - startOf(s.idEnds, j);
    return FIXED_MAX + id + routing;
  }

  /** Writes receipt i at `at`; returns the offset after it. */
  #write(i: number, out: Buffer, at: number): number {
    const j = this.#resolve(i);
    const k = this.#appendedAs[j] as number;
    if (k === -1) return at + out.write(this.#existingJson(j), at, 'utf8');
    const range = this.#range as AppendedRange;
    const s = this.#source;
    out.set(this.#head, at);
    at += this.#head.length;
    out.set(SEQ, at);
    at = writeDecimal(out, at + SEQ.length, range.first + k);
    out.set(LEAF_HASH, at);
    at += LEAF_HASH.length;
    range.leafHashHexInto(k, out, at);
    at += 64;
    out.set(RECORD_ID, at);
    at += RECORD_ID.length;
    at = copyBytes(s.ids, startOf(s.idEnds, j), s.idEnds[j] as number, out, at);
    out.set(ROUTING, at);
    at += ROUTING.length;
    const start = startOf(s.routingEnds, j);
    at = copyBytes(s.routing, start, s.routingEnds[j] as number, out, at);
    out[at] = 0x7d; // }
    return at + 1;
  }
}
