// Ingest preparation: NDJSON (or one JSON body) -> validated, canonical, routed decisions. Pure
// CPU work with no shared state, so it runs in worker threads (prepare-worker.ts) as well as
// inline. Results are packed into a few flat arrays so that passing a batch between threads
// costs a few transfers, not one structured clone per decision; decisions whose line already
// was canonical are positions in the request body, which the caller holds anyway.
import { startOf, withRoom } from '../core/bytes.ts';
import { acceptCanonicalDecisionTransient } from '../core/decision-bytes.ts';
import { decisionLimits, parseDecisionLine, type DecisionLimits } from '../core/decision.ts';
import { canonicalFromJsonBytes } from '../core/jcs-from-bytes.ts';
import { routingJsonMaxLength, writeRoutingJson } from '../core/envelope.ts';
import {
  RoutingError,
  route,
  routingSourceOf,
  type EpochTable,
  type RoutingSource,
} from '../core/routing.ts';
import type { BodyLease } from './body-pool.ts';
import { IdListBuilder, repeats, type IdList } from './record-ids.ts';

export interface LineProblem {
  /** 1-based NDJSON line number (1 for a single-decision body). */
  line: number;
  path: string;
  code: string;
  message: string;
}

/**
 * Prepared decisions in flat arrays. Decision i's canonical bytes are
 * `(inBody[i] ? body : canonical)[starts[i] .. ends[i])`: a line that already was its canonical
 * form is used where it lies in the request body (no copy, nothing to pass back between
 * threads); only re-serialized decisions are packed into `canonical`. Its record_id is id i of
 * the IdList (bytes, so no string per decision crosses threads).
 */
export interface PackedBatch extends IdList {
  ok: true;
  count: number;
  /** The request body the batch was prepared from (the caller's own copy; never modified). */
  body: Uint8Array;
  canonical: Uint8Array;
  inBody: Uint8Array;
  starts: Uint32Array;
  ends: Uint32Array;
  /** Line number of each decision in the request. */
  lines: Uint32Array;
  shards: Int32Array;
  epochs: Int32Array;
  /** Each decision's routing as `routingJson` (UTF-8), ending at routingEnds[i]. */
  routing: Uint8Array;
  routingEnds: Uint32Array;
  /** For a repeat of an earlier line's record_id in this request: that decision's index, else -1. */
  sameAs: Int32Array;
  /** Version of the routing table the routes were computed with. */
  tableVersion: number;
  /** Who holds `body`: set by the HTTP layer, held by the ingestor while decisions are in flight. */
  lease?: BodyLease;
  /**
   * The storage the caller lent for re-serialized decisions (prepareBody's `out`), back from a
   * worker: `canonical` lies in it unless it had to grow.
   */
  out?: ArrayBuffer;
}

export interface RejectedBatch {
  ok: false;
  problems: LineProblem[];
}

export type PrepareResult = PackedBatch | RejectedBatch;

/** Bytes of routing JSON per decision to start with (`{"epoch":0,"key":"…","strategy":"…"}`). */
const ROUTING_BYTES_GUESS = 96;

/** Most problems reported for one request (the rest are counted in the message). */
export const MAX_PROBLEMS = 1000;

/** Where the decisions of a body lie: decision i is body[starts[i], ends[i]), on line numbers[i]. */
export interface LineSpans {
  starts: Uint32Array;
  ends: Uint32Array;
  numbers: Uint32Array;
}

/** Start and end offsets of the non-empty lines of an NDJSON body (a trailing \r is dropped). */
export function splitLines(body: Uint8Array): LineSpans {
  // Typed arrays grown by doubling: a few per batch, not a JavaScript array element per line.
  let spans = lineSpans(64);
  let n = 0;
  // Buffer's indexOf is a memchr; Uint8Array's is a generic loop, ten times slower.
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let start = 0;
  let line = 1;
  while (start <= body.length) {
    let nl = b.indexOf(0x0a, start);
    if (nl < 0) nl = body.length;
    let end = nl;
    if (end > start && body[end - 1] === 0x0d) end--;
    if (!isBlank(body, start, end)) {
      if (n === spans.starts.length) spans = grownSpans(spans);
      spans.starts[n] = start;
      spans.ends[n] = end;
      spans.numbers[n] = line;
      n++;
    }
    start = nl + 1;
    line++;
  }
  return {
    starts: spans.starts.subarray(0, n),
    ends: spans.ends.subarray(0, n),
    // A copy of exactly n: the line numbers go back to the caller in the result.
    numbers: spans.numbers.slice(0, n),
  };
}

function lineSpans(capacity: number): LineSpans {
  return {
    starts: new Uint32Array(capacity),
    ends: new Uint32Array(capacity),
    numbers: new Uint32Array(capacity),
  };
}

function grownSpans(spans: LineSpans): LineSpans {
  const more = lineSpans(2 * spans.starts.length);
  more.starts.set(spans.starts);
  more.ends.set(spans.ends);
  more.numbers.set(spans.numbers);
  return more;
}

/**
 * A single-decision body as one span without the JSON whitespace around it (a trailing newline
 * is common), so that a canonical body is recognized as such.
 */
function wholeBody(body: Uint8Array): LineSpans {
  let start = 0;
  let end = body.length;
  while (start < end && isJsonSpace(body[start] as number)) start++;
  while (end > start && isJsonSpace(body[end - 1] as number)) end--;
  return { starts: Uint32Array.of(start), ends: Uint32Array.of(end), numbers: Uint32Array.of(1) };
}

const isJsonSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function isBlank(body: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = body[i];
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/**
 * Validates, canonicalizes and routes every line of `body` (NDJSON when `ndjson`, else the
 * whole body is one decision). Any problem rejects the batch with every problem listed.
 * Re-serialized decisions are written into `out` when given (a new array only if they outgrow it).
 */
export function prepareBody(
  body: Uint8Array,
  ndjson: boolean,
  limits: Partial<DecisionLimits>,
  table: EpochTable,
  tableVersion: number,
  out?: Uint8Array,
): PrepareResult {
  const spans = ndjson ? splitLines(body) : wholeBody(body);
  const n = spans.starts.length;
  const full = decisionLimits(limits);
  const problems: LineProblem[] = [];
  // Re-serialized decisions, back to back (a line that itself is canonical is not copied).
  let reserialized: Uint8Array = out ?? new Uint8Array(0);
  let reserializedBytes = 0;
  const starts = new Uint32Array(n);
  const ends = new Uint32Array(n);
  const inBody = new Uint8Array(n);
  const ids = new IdListBuilder(n);
  // Routing JSON of every decision, rendered straight into one buffer (grown when needed).
  let routing: Uint8Array = new Uint8Array(n * ROUTING_BYTES_GUESS);
  let routingLength = 0;
  const routingEnds = new Uint32Array(n);
  const shards = new Int32Array(n);
  const epochs = new Int32Array(n);
  let problemCount = 0;
  const problem = (p: LineProblem): void => {
    problemCount++;
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  if (n === 0) {
    problem({ line: 1, path: '$', code: 'empty', message: 'the request has no decisions' });
  }
  for (let i = 0; i < n; i++) {
    const line = spans.numbers[i] as number;
    // A plain view (not a Buffer): the recognizers then see one kind of array, and
    // canonicalFromJsonBytes reads it without making a view of its own.
    const from = spans.starts[i] as number;
    const bytes = new Uint8Array(
      body.buffer,
      body.byteOffset + from,
      (spans.ends[i] as number) - from,
    );
    // Canonical input of a valid decision is recognized in one pass over its bytes. Other valid
    // JSON (as serializers write it) is canonicalized straight from its bytes and the result
    // recognized the same way. Anything else (including every invalid line) takes the full
    // path, which lists the problems.
    let canonical: Uint8Array = bytes;
    let recordId = '';
    let routable: RoutingSource;
    // `accepted` and `rewritten` are valid until the next line's calls: everything they hold is
    // read (route, the id's bytes) or copied (the canonical bytes) within this iteration.
    let accepted = acceptCanonicalDecisionTransient(bytes, full);
    if (accepted === undefined && bytes.length <= full.maxInputBytes) {
      const rewritten = canonicalFromJsonBytes(bytes, full.maxDepth);
      accepted =
        rewritten === undefined ? undefined : acceptCanonicalDecisionTransient(rewritten, full);
      if (accepted !== undefined) canonical = rewritten as Uint8Array;
    }
    if (accepted !== undefined) {
      routable = accepted;
    } else {
      const result = parseDecisionLine(bytes, full);
      if (!result.ok) {
        for (const p of result.problems)
          problem({ line, path: p.path, code: p.code, message: p.message });
        continue;
      }
      canonical = result.prepared.canonical;
      recordId = result.prepared.recordId;
      routable = routingSourceOf(result.prepared.decision);
    }
    try {
      const r = route(routable, table);
      shards[i] = r.shard;
      epochs[i] = r.epoch;
      routing = withRoom(routing, routingLength, routingLength + routingJsonMaxLength(r));
      routingLength = writeRoutingJson(r, routing, routingLength);
      routingEnds[i] = routingLength;
    } catch (err) {
      if (!(err instanceof RoutingError)) throw err;
      const path = err.code === 'no_epoch' ? '$.timestamp_ns' : err.path;
      problem({ line, path, code: err.code, message: err.message });
      continue;
    }
    const start = canonical.byteOffset - body.byteOffset;
    // The line itself (also when the full path found it canonical and returned a view). Small
    // Buffers share one slab, so lying in the same ArrayBuffer is not enough: it must lie
    // within the body.
    if (canonical.buffer === body.buffer && start >= 0 && start + canonical.length <= body.length) {
      inBody[i] = 1;
      starts[i] = start;
      ends[i] = start + canonical.length;
    } else {
      reserialized = withRoom(
        reserialized,
        reserializedBytes,
        reserializedBytes + canonical.length,
      );
      reserialized.set(canonical, reserializedBytes);
      starts[i] = reserializedBytes;
      reserializedBytes += canonical.length;
      ends[i] = reserializedBytes;
    }
    if (accepted !== undefined) {
      ids.addBytes(canonical, accepted.recordIdStart, accepted.recordIdEnd);
    } else {
      ids.addString(recordId);
    }
  }
  if (problemCount > 0) {
    if (problemCount > problems.length) {
      const last = problems[problems.length - 1] as LineProblem;
      last.message += ` (${problemCount - problems.length} more problems not listed)`;
    }
    return { ok: false, problems };
  }
  const idList = ids.finish();
  return {
    ok: true,
    count: n,
    body,
    canonical: reserialized.subarray(0, reserializedBytes),
    inBody,
    starts,
    ends,
    routing,
    routingEnds,
    sameAs: repeats(idList),
    ...idList,
    lines: spans.numbers,
    shards,
    epochs,
    tableVersion,
  };
}

/** Routing of decision i of a packed batch as `routingJson` bytes (a view, no copy). */
export function routingAt(batch: PackedBatch, i: number): Uint8Array {
  return batch.routing.subarray(startOf(batch.routingEnds, i), batch.routingEnds[i]);
}

/** Canonical bytes of decision i of a packed batch (a view, no copy). */
export function canonicalAt(batch: PackedBatch, i: number): Uint8Array {
  return canonicalSource(batch, i).subarray(batch.starts[i], batch.ends[i]);
}

/** The buffer decision i's canonical bytes lie in (see PackedBatch). */
export function canonicalSource(
  batch: Pick<PackedBatch, 'body' | 'canonical' | 'inBody'>,
  i: number,
): Uint8Array {
  return batch.inBody[i] === 1 ? batch.body : batch.canonical;
}
