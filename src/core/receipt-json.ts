// A shard's receipts as JSON: the answer to POST /v1/decisions:batch, in exactly one form,
//
//   {"receipts":[R,R,...]}   R = {"shard_id":N,"seq":N,"leaf_hash":"<64 hex>","record_id":"ID","routing":ROUTING}
//
// with ROUTING as `writeRoutingJson` renders it (a duplicate's receipt, `JSON.stringify` of the
// original's, is the same bytes). The shard writes it from the pieces below
// (shard-runtime/receipts.ts); a client reads it back with `readReceiptBatch`, comparing each
// receipt's record_id with the one it sent and reading the rest straight from the bytes.
import { decimalAt, decimalEnd, hasBytesAt, utf8 } from './bytes.ts';
import { matchJsonChars, RoutingJsonReader } from './envelope.ts';
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

/**
 * The receipts of a batch answer to `count` decisions, read from the bytes without a JSON parse
 * when `body` is exactly the form above and receipt i holds decision i's record_id
 * (`recordIdOf(i)`, the string it then holds too). Undefined for anything else: another count,
 * spacing, member order or number spelling, an escape in a record_id or routing string, a hash
 * not in lowercase hex, another record_id. The caller then parses the body in full, which
 * accepts those it should and names the fault of the rest. What this accepts, `JSON.parse` reads
 * as the same values.
 */
export function readReceiptBatch(
  body: Buffer,
  count: number,
  recordIdOf: (i: number) => string,
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
    const recordId = recordIdOf(i);
    if (recordId.length === 0) return undefined;
    at = matchJsonChars(body, at + RECORD_ID.length, recordId);
    if (at < 0 || !hasBytesAt(body, at, ROUTING)) return undefined;
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

/** Whether b[start..end) are lowercase hex digits, all of them present. */
export function isLowerHex(b: Uint8Array, start: number, end: number): boolean {
  if (end > b.length) return false;
  for (let k = start; k < end; k++) if (LOWER_HEX[b[k] as number] !== 1) return false;
  return true;
}
