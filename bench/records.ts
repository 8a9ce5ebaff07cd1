// `npm run bench records`: the ingest path of one ~400-byte decision, one core.
//   - JSON.parse of the line: the baseline every other figure is a ratio to
//   - parseDecisionLine: UTF-8 decode + parse + validate + canonical bytes (what a worker does),
//     on the line as a client wrote it (members not in canonical order), on its canonical form
//     (the bytes are kept as they are) and pretty-printed (re-serialized)
//   - acceptCanonicalDecision on the canonical form: the ingest fast path (no parse)
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
import { route, type EpochTable } from '../src/core/routing.ts';
import { rate, round, ratio } from './measure.ts';

/** A small decision (about 390 bytes of canonical JSON: the required members and one chain node). */
function decisionLine(i: number): string {
  return JSON.stringify({
    record_id: `r${i.toString(36).padStart(5, '0')}`,
    spec_version: '0.2',
    ctx: { t: 0.2 },
    model_id: 'acme-7b',
    reasoning_trace: 'ok',
    output: { ok: true, n: i % 1000 },
    ppp_triplet: { provenance: 'acme-7b', place: 'CA-ON', purpose: 'credit' },
    human_delta_chain: [
      { sequence: 0, kind: 'autonomous', timestamp_ns: '1', authority_ref: 'p:a' },
    ],
    timestamp_ns: (1767225600000000000n + BigInt(i)).toString(),
    entity_id: `c-${i % 5000}`,
    session_id: `s-${i % 700}`,
    domain: 'credit',
  });
}

export const run: BenchSuite = async ({ quick }) => {
  const ms = quick ? 150 : 800;
  const rounds = quick ? 2 : 5;
  const N = 4096;
  const lines = Array.from({ length: N }, (_, i) => decisionLine(i));
  const lineBytes = lines.map((l) => utf8.encode(l));
  const values = lines.map((l) => JSON.parse(l) as unknown);
  const canonicalLines = values.map((v) => canonicalBytes(v));
  const prettyLines = values.map((v) => utf8.encode(JSON.stringify(v, null, 2)));
  const prepared: PreparedDecision[] = values.map((v) => prepareDecision(v));
  const table: EpochTable = {
    epochs: [
      {
        epoch: 0,
        strategy: 'hash-by-entity',
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
      key: (prepared[i & (N - 1)] as PreparedDecision).entityId,
      strategy: 'hash-by-entity',
    },
  });
  const at = <T>(xs: T[], i: number): T => xs[i & (N - 1)] as T;
  const limits = decisionLimits();

  const stages: Record<string, (i: number) => unknown> = {
    json_parse: (i) => JSON.parse(at(lines, i)),
    parse_decision_line: (i) => parseDecisionLine(at(lineBytes, i)),
    parse_decision_line_canonical: (i) => parseDecisionLine(at(canonicalLines, i)),
    parse_decision_line_pretty: (i) => parseDecisionLine(at(prettyLines, i)),
    accept_canonical_bytes: (i) => acceptCanonicalDecision(at(canonicalLines, i), limits),
    parse_and_prepare: (i) => prepareDecision(JSON.parse(at(lines, i))),
    prepare_parsed: (i) => prepareDecision(at(values, i)),
    canonicalize_package: (i) => canonicalize(at(values, i)),
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
    route_jump: (i) => route(at(prepared, i).decision, table),
    route_modulo: (i) => route(at(prepared, i).decision, moduloTable),
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
