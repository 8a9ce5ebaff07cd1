// `npm run bench records`: the ingest path of one upstream AgDR v0.2 record (about 1 KB, as the
// upstream Python SDK writes it), one core.
//   - JSON.parse of the line: the baseline every other figure is a ratio to (it rounds the
//     19-digit timestamps, so it is a reference, not a usable parse)
//   - parseJsonExact of the line: the exact reader (integers kept, duplicates refused)
//   - parseDecisionLine: UTF-8 decode + exact parse + validate + canonical bytes (what a worker
//     does), on the line as the SDK wrote it (json.dumps: spaces, members not in canonical
//     order), on its canonical form (the bytes are kept as they are) and pretty-printed
//   - acceptCanonicalDecision on the canonical form: the ingest fast path (no parse)
//   - canonicalFromJsonBytes of the SDK line, and it followed by acceptCanonicalDecision:
//     ingest's path for lines that are not canonical on arrival
//   - prepareDecision on an already-parsed value (validate + canonical bytes)
//   - canonicalize (the RFC author's package) on the same value, for comparison
//   - encodeEnvelope (splice) vs canonical re-serialization of the whole envelope
//   - route (hash-by-entity, jump and modulo)
// Stages run in alternating rounds; each figure is the best round (least disturbed).
import canonicalize from 'canonicalize';
import type { BenchSuite } from './run.ts';
import { utf8 } from '../src/core/bytes.ts';
import { acceptCanonicalDecision } from '../src/core/decision-bytes.ts';
import {
  decisionLimits,
  parseDecisionLine,
  prepareDecision,
  type PreparedDecision,
} from '../src/core/decision.ts';
import { encodeEnvelope, type EnvelopeMeta } from '../src/core/envelope.ts';
import { canonicalBytes } from '../src/core/jcs.ts';
import { canonicalFromJsonBytes } from '../src/core/jcs-from-bytes.ts';
import { parseJsonExact } from '../src/core/json-exact.ts';
import { defaultKeyPointers, routeDecision, type EpochTable } from '../src/core/routing.ts';
import { sdkLine, upstreamRecord } from '../test/fixtures/records.ts';
import { rate, round, ratio } from './measure.ts';

/**
 * Record i as the SDK's users send it (`json.dumps(record.to_dict())`): an upstream record with
 * its routing key in ctx, a third each autonomous, approved and escalated to the FOI review.
 */
export function sdkDecisionLine(i: number): string {
  return sdkLine(
    upstreamRecord(i, {
      id: `agdr_${i.toString(36).padStart(6, '0')}`,
      ctx: { entity_id: `c-${i % 5000}` },
      chain: i % 3 === 0 ? 'autonomous' : i % 3 === 1 ? 'approved' : 'escalated-foi',
    }),
  );
}

export const run: BenchSuite = async ({ quick }) => {
  const ms = quick ? 150 : 800;
  const rounds = quick ? 2 : 5;
  const N = 4096;
  const lines = Array.from({ length: N }, (_, i) => sdkDecisionLine(i));
  const lineBytes = lines.map((l) => utf8.encode(l));
  const values = lines.map((l) => parseJsonExact(l) as Record<string, unknown>);
  const rounded = lines.map((l) => JSON.parse(l) as unknown);
  const canonicalLines = values.map((v) => canonicalBytes(v));
  const prettyLines = canonicalLines.map((c) =>
    utf8.encode(JSON.stringify(JSON.parse(utf8.decode(c)), null, 2)),
  );
  const prepared: PreparedDecision[] = values.map((v) => prepareDecision(v));
  const table: EpochTable = {
    epochs: [
      {
        epoch: 0,
        strategy: 'hash-by-entity',
        key_pointers: defaultKeyPointers('hash-by-entity'),
        bucket: 'jump',
        shards: 16,
        params: {},
        effective_from_ns: '0',
      },
    ],
  };
  const moduloTable: EpochTable = {
    epochs: [{ ...(table.epochs[0] as EpochTable['epochs'][0]), bucket: 'modulo' }],
  };
  const meta = (i: number): EnvelopeMeta => ({
    shard: 3,
    seq: i,
    timestamp_ns: '1767225600000001000',
    routing: {
      epoch: 0,
      key: `c-${(i & (N - 1)) % 5000}`,
      pointer: '/ctx/entity_id',
      strategy: 'hash-by-entity',
    },
  });
  const at = <T>(xs: T[], i: number): T => xs[i & (N - 1)] as T;
  const limits = decisionLimits();

  const stages: Record<string, (i: number) => unknown> = {
    json_parse: (i) => JSON.parse(at(lines, i)),
    parse_json_exact: (i) => parseJsonExact(at(lines, i)),
    parse_decision_line: (i) => parseDecisionLine(at(lineBytes, i)),
    parse_decision_line_canonical: (i) => parseDecisionLine(at(canonicalLines, i)),
    parse_decision_line_pretty: (i) => parseDecisionLine(at(prettyLines, i)),
    accept_canonical_bytes: (i) => acceptCanonicalDecision(at(canonicalLines, i), limits),
    // Ingest's path for the SDK line: canonical bytes straight from its bytes, then the above.
    canonical_from_bytes: (i) => canonicalFromJsonBytes(at(lineBytes, i), limits.maxDepth),
    accept_sdk_line: (i) => {
      const c = canonicalFromJsonBytes(at(lineBytes, i), limits.maxDepth);
      return c === undefined ? undefined : acceptCanonicalDecision(c, limits);
    },
    parse_and_prepare: (i) => prepareDecision(parseJsonExact(at(lines, i))),
    prepare_parsed: (i) => prepareDecision(at(values, i)),
    // On JSON.parse values (the package cannot take bigints; its output rounds them).
    canonicalize_package: (i) => canonicalize(at(rounded, i)),
    envelope_splice: (i) => encodeEnvelope(meta(i), at(prepared, i).canonical),
    envelope_reserialize: (i) => {
      const m = meta(i);
      return canonicalBytes({
        decision: at(values, i),
        routing: m.routing,
        seq: m.seq,
        shard: m.shard,
        timestamp_ns: m.timestamp_ns,
      });
    },
    route_jump: (i) => routeDecision(at(prepared, i).decision, table),
    route_modulo: (i) => routeDecision(at(prepared, i).decision, moduloTable),
  };
  const best: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, op] of Object.entries(stages)) {
      best[name] = Math.max(best[name] ?? 0, rate(ms, 256, op));
    }
  }
  const base = best.json_parse as number;
  const perSec: Record<string, number> = {};
  const microseconds: Record<string, number> = {};
  const ratioToParse: Record<string, number> = {};
  for (const [name, r] of Object.entries(best)) {
    perSec[name] = round(r);
    microseconds[name] = Math.round((1e6 / r) * 100) / 100;
    ratioToParse[name] = ratio(base, r);
  }
  const avgBytes = Math.round(prepared.reduce((n, p) => n + p.canonical.length, 0) / N);
  return {
    decision_canonical_bytes: avgBytes,
    baseline: 'json_parse (same run)',
    per_second: perSec,
    microseconds_per_op: microseconds,
    /** Time of each stage divided by the time of JSON.parse of the same line. */
    time_ratio_to_json_parse: ratioToParse,
    splice_speedup_vs_reserialize: ratio(
      best.envelope_splice as number,
      best.envelope_reserialize as number,
    ),
  };
};
