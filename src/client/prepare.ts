// A decision as the caller hands it over (JSON text, bytes, or a parsed object) to what the
// client sends: its canonical bytes, its record_id and what routing reads. Lines that are
// already canonical (what `agdr submit` and the shards write) take core's one-pass check; every
// other form is parsed, validated and canonicalized by core, as the shard would.
import { rangeOf, utf8 } from '../core/bytes.ts';
import { acceptCanonicalDecision } from '../core/decision-bytes.ts';
import { matchJsonChars } from '../core/envelope.ts';
import { canonicalCopyFromJsonBytes } from '../core/jcs-from-bytes.ts';
import {
  decisionLimits,
  parseDecisionLine,
  tryPrepareDecision,
  type DecisionLimits,
  type DecisionResult,
} from '../core/decision.ts';
import { RoutingError, route, routingSourceOf } from '../core/routing.ts';
import type { EpochTable, RouteResult, RoutingSource } from '../core/routing.ts';
import type { SubmitProblem } from './errors.ts';
import { ReadyDecision } from './in-flight.ts';
import { scanDecision } from './line-scan.ts';

/** JSON text of one decision, its UTF-8 bytes, or the parsed record (bigints for big integers). */
export type DecisionInput = string | Uint8Array | Readonly<Record<string, unknown>>;

/** A decision whose routing source holds what it read (the full path's). */
export class HeldDecision extends ReadyDecision {
  buf: Uint8Array;
  at = 0;
  readonly size: number;
  readonly recordId: string;
  readonly source: RoutingSource;

  constructor(bytes: Uint8Array, recordId: string, source: RoutingSource) {
    super();
    this.buf = bytes;
    this.size = bytes.length;
    this.recordId = recordId;
    this.source = source;
  }

  moveTo(buf: Buffer, at: number): void {
    this.buf = buf;
    this.at = at;
  }

  matchRecordId(b: Uint8Array, at: number): number {
    return matchJsonChars(b, at, this.recordId);
  }
}

/** The bytes of a decision (a view made on demand: a decision in flight holds none). */
export function bytesOf(d: ReadyDecision): Uint8Array {
  return rangeOf(d.buf, d.at, d.at + d.size);
}

export type Prepared =
  { ok: true; decision: ReadyDecision } | { ok: false; problems: SubmitProblem[] };

const LIMITS: DecisionLimits = decisionLimits();

/**
 * What `submit` sends: JSON text (a string or its bytes) as it is, with its routing fields read
 * by one scan (line-scan.ts), leaving validation to the shard; anything the scan does not read
 * exactly, and objects, take `prepareInput`.
 */
export function prepareToSend(input: DecisionInput): Prepared {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return prepareInput(input);
  const bytes = typeof input === 'string' ? utf8.encode(input) : input;
  const scanned = bytes.length <= LIMITS.maxInputBytes ? scanDecision(bytes) : undefined;
  if (scanned === undefined) return prepareBytes(bytes);
  return { ok: true, decision: scanned };
}

/** Validates and canonicalizes a decision as the shard would (every problem with its path). */
export function prepareInput(input: DecisionInput): Prepared {
  if (typeof input === 'string') return prepareBytes(utf8.encode(input));
  if (input instanceof Uint8Array) return prepareBytes(input);
  return fromResult(tryPrepareDecision(input, LIMITS));
}

function prepareBytes(bytes: Uint8Array): Prepared {
  const accepted = acceptCanonicalDecision(bytes, LIMITS);
  if (accepted !== undefined) {
    return { ok: true, decision: new HeldDecision(bytes, accepted.record_id, accepted) };
  }
  // Valid JSON in another layout (the SDK's json.dumps) is canonicalized straight from its
  // bytes, as the shard's ingest does; whatever that declines takes the full path.
  if (bytes.length <= LIMITS.maxInputBytes) {
    const canonical = canonicalCopyFromJsonBytes(bytes, LIMITS.maxDepth);
    const again = canonical === undefined ? undefined : acceptCanonicalDecision(canonical, LIMITS);
    if (again !== undefined) {
      return {
        ok: true,
        decision: new HeldDecision(canonical as Uint8Array, again.record_id, again),
      };
    }
  }
  return fromResult(parseDecisionLine(bytes, LIMITS));
}

function fromResult(result: DecisionResult): Prepared {
  if (!result.ok) return { ok: false, problems: result.problems };
  const p = result.prepared;
  // Routing reads the canonical bytes, not the parsed record: a decision waiting for its
  // acknowledgement then holds its bytes only, not an object graph many times their size.
  const source = acceptCanonicalDecision(p.canonical, LIMITS) ?? routingSourceOf(p.decision);
  return { ok: true, decision: new HeldDecision(p.canonical, p.recordId, source) };
}

/** The route of a decision under `table`, or the problem that keeps it from having one. */
export function routeOf(
  source: RoutingSource,
  table: EpochTable,
): { ok: true; route: RouteResult } | { ok: false; problem: SubmitProblem } {
  try {
    return { ok: true, route: route(source, table) };
  } catch (err) {
    if (!(err instanceof RoutingError)) throw err;
    // As the shard reports it: a timestamp before every epoch is a fault of timestamp_ns.
    const path = err.code === 'no_epoch' ? '$.timestamp_ns' : err.path;
    return { ok: false, problem: { path, code: err.code, message: err.message } };
  }
}
