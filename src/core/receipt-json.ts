// A shard's receipts as JSON: the answer to POST /v1/decisions:batch, in exactly one form,
//
//   {"receipts":[R,R,...]}   R = {"shard_id":N,"seq":N,"leaf_hash":"<64 hex>","record_id":"ID","routing":ROUTING}
//
// with ROUTING as `writeRoutingJson` renders it (a duplicate's receipt, `JSON.stringify` of the
// original's, is the same bytes). The shard writes it from the pieces below
// (shard-runtime/receipts.ts); a client reads it back with `readReceiptBatch`, comparing each
// receipt's record_id with the one it sent and reading the rest straight from the bytes.
import { decimalAt, decimalEnd, hasBytesAt, utf8 } from './bytes.ts';
import { RoutingJsonReader } from './envelope.ts';
import type { EnvelopeRouting } from './envelope.ts';

/** The receipt of one accepted decision (a plain object: it is what `JSON.parse` gives too). */
export interface Receipt {
  shard_id: number;
  seq: number;
  leaf_hash: string;
  record_id: string;
  routing: EnvelopeRouting;
}

// The fixed pieces of the form, in order.
export const BATCH_OPEN = utf8.encode('{"receipts":[');
export const SHARD_ID = utf8.encode('{"shard_id":');
export const SEQ = utf8.encode(',"seq":');
export const LEAF_HASH = utf8.encode(',"leaf_hash":"');
export const RECORD_ID = utf8.encode('","record_id":"');
export const ROUTING = utf8.encode('","routing":');
export const BATCH_CLOSE = utf8.encode(']}');

const COMMA = 0x2c;
const CLOSE_BRACE = 0x7d;

/** 1 for the bytes of lowercase hex digits (the one spelling of a hash). */
const LOWER_HEX = new Uint8Array(256);
for (const c of '0123456789abcdef') LOWER_HEX[c.charCodeAt(0)] = 1;

/** A decision sent, as the receipt reader compares its record_id with the receipt's. */
export interface SentRecordId {
  /** Its record_id, when the receipt's cannot be read as plain ASCII. */
  readonly recordId: string;
  /** Just past its record_id if b[at..] spells it as JSON string characters, else -1. */
  matchRecordId(b: Uint8Array, at: number): number;
}

/**
 * The receipts of a batch answer to `count` decisions, read from the bytes without a JSON parse
 * when `body` is exactly the form above and receipt i holds decision i's record_id
 * (`sentOf(i)` compares the bytes; the receipt's record_id is then read from the answer, or is
 * that decision's string). Undefined for anything else: another count, spacing, member order or
 * number spelling, an escape in a record_id or routing string, a hash not in lowercase hex,
 * another record_id. The caller then parses the body in full, which
 * accepts those it should and names the fault of the rest. What this accepts, `JSON.parse` reads
 * as the same values.
 */
export function readReceiptBatch(
  body: Buffer,
  count: number,
  sentOf: (i: number) => SentRecordId,
): Receipt[] | undefined {
  if (!hasBytesAt(body, 0, BATCH_OPEN)) return undefined;
  let at = BATCH_OPEN.length;
  const receipts = new Array<Receipt>(count);
  const routings = new RoutingJsonReader();
  for (let i = 0; i < count; i++) {
    if (i > 0 && body[at++] !== COMMA) return undefined;
    if (!hasBytesAt(body, at, SHARD_ID)) return undefined;
    at += SHARD_ID.length;
    let end = decimalEnd(body, at);
    if (end < 0 || !hasBytesAt(body, end, SEQ)) return undefined;
    const shardId = decimalAt(body, at, end);
    at = end + SEQ.length;
    end = decimalEnd(body, at);
    if (end < 0 || !hasBytesAt(body, end, LEAF_HASH)) return undefined;
    const seq = decimalAt(body, at, end);
    at = end + LEAF_HASH.length;
    if (!isLowerHex(body, at, at + 64)) return undefined;
    const leafHash = body.toString('latin1', at, at + 64);
    at += 64;
    if (!hasBytesAt(body, at, RECORD_ID)) return undefined;
    const sent = sentOf(i);
    const idStart = at + RECORD_ID.length;
    at = sent.matchRecordId(body, idStart);
    if (at <= idStart || !hasBytesAt(body, at, ROUTING)) return undefined;
    // Matched characters are unescaped: ASCII ones are their Latin-1 decoding (a cheap call).
    const recordId = isAscii(body, idStart, at)
      ? body.toString('latin1', idStart, at)
      : sent.recordId;
    const routing = routings.read(body, at + ROUTING.length);
    if (routing === undefined) return undefined;
    at = routings.end;
    if (body[at++] !== CLOSE_BRACE) return undefined;
    receipts[i] = { shard_id: shardId, seq, leaf_hash: leafHash, record_id: recordId, routing };
  }
  if (!hasBytesAt(body, at, BATCH_CLOSE) || at + BATCH_CLOSE.length !== body.length) {
    return undefined;
  }
  return receipts;
}

function isAscii(b: Uint8Array, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if ((b[k] as number) >= 0x80) return false;
  return true;
}

/** Whether b[start..end) are lowercase hex digits, all of them present. */
function isLowerHex(b: Uint8Array, start: number, end: number): boolean {
  if (end > b.length) return false;
  for (let k = start; k < end; k++) if (LOWER_HEX[b[k] as number] !== 1) return false;
  return true;
}
