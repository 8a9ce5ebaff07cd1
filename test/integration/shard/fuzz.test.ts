// Property-based fuzzing of both ingest endpoints with bad input: malformed JSON, wrong types,
// huge fields, invalid UTF-8, missing PPP fields, broken human-delta chains, repeated members,
// byte order marks and numbers canonical JSON would change. Every answer must
// be a 4xx JSON error with a code and a path, never a 5xx or a dead process, and the log must
// not change.
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  decisionsFor,
  epochTable,
  removeTempDirs,
  request,
  startShardProcess,
  tempDir,
  writeRouting,
  type ShardProcess,
} from './shard-process.ts';
import { sdkLine } from '../../fixtures/records.ts';

const table = epochTable(1);
let shard: ShardProcess;
const valid = decisionsFor(table, 0, 50, { tag: 'fuzz' });

beforeAll(async () => {
  const dir = tempDir();
  shard = await startShardProcess({
    dataDir: path.join(dir, 'data'),
    shardId: 0,
    routingFile: writeRouting(dir, table),
  });
});
afterAll(async () => {
  await shard?.kill();
  removeTempDirs();
});

const enc = new TextEncoder();
const wrongValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);
const base = fc.constantFrom(...valid);
const topFields = [
  'record_id',
  'spec_version',
  'model_id',
  'ppp_triplet',
  'human_delta_chain',
  'timestamp_ns',
  'entity_id', // the routing key hash-by-entity reads first: a non-string is refused
  'committed',
  'ctx',
];
/** Values of the wrong type for member `k` (some of the generated values are valid). */
const isWrongFor = (k: string, v: unknown): boolean =>
  !(k === 'ctx' && typeof v === 'object' && v !== null && !Array.isArray(v)) &&
  !(k === 'model_id' && v === null) &&
  !(k === 'committed' && v === true) &&
  !(k === 'timestamp_ns' && typeof v === 'number' && Number.isInteger(v) && v >= 0);
const delta = (sequence: number, action: number, extra: Record<string, unknown> = {}) => ({
  delta_id: `d${sequence}`,
  sequence,
  actor: { name: 'a', role: 'r' },
  action,
  timestamp_ns: 1796569260694147634n + BigInt(sequence),
  ...extra,
});

/** A decision body (bytes) that must be rejected. */
const badBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  // Malformed JSON: a strict prefix of a valid decision, or random text.
  fc.tuple(base, fc.double({ min: 0, max: 0.999, noNaN: true })).map(([d, f]) => {
    const t = sdkLine(d);
    return enc.encode(t.slice(0, Math.floor(t.length * f)));
  }),
  fc
    .string({ maxLength: 200 })
    .filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    })
    .map((s) => enc.encode(s)),
  // Wrong type for a required field.
  fc
    .tuple(base, fc.constantFrom(...topFields), wrongValue)
    .filter(([, k, v]) => isWrongFor(k, v))
    .map(([d, k, v]) => enc.encode(sdkLine({ ...d, [k]: v }))),
  // Missing, empty or whitespace-only PPP member.
  fc
    .tuple(
      base,
      fc.constantFrom('provenance', 'place', 'purpose'),
      fc.constantFrom(undefined, '', ' \t'),
    )
    .map(([d, k, v]) => {
      const ppp: Record<string, unknown> = { ...(d.ppp_triplet as object) };
      if (v === undefined) delete ppp[k];
      else ppp[k] = v;
      return enc.encode(sdkLine({ ...d, ppp_triplet: ppp }));
    }),
  // A member repeated (JSON.parse would keep the last), a byte order mark, an inexact number.
  fc.tuple(base, fc.constantFrom('dup', 'bom', '-0', '1e-400')).map(([d, how]) => {
    const t = sdkLine(d);
    if (how === 'dup')
      return enc.encode(t.replace('{"record_id": ', '{"record_id": "x", "record_id": '));
    if (how === 'bom') return new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(t)]);
    return enc.encode(t.replace('"output": {', `"output": {"n": ${how}, `));
  }),
  // Huge fields beyond the limits.
  fc
    .tuple(base, fc.constant('record_id'), fc.integer({ min: 257, max: 20_000 }))
    .map(([d, k, n]) => enc.encode(sdkLine({ ...d, [k]: 'a'.repeat(n) }))),
  // Invalid UTF-8 inside an otherwise valid decision.
  fc.tuple(base, fc.constantFrom(0xff, 0xc0, 0xed, 0x80)).map(([d, b]) => {
    const out = Buffer.from(sdkLine(d));
    out[out.indexOf('equity desk') + 2] = b; // inside the ppp_triplet.provenance string
    return new Uint8Array(out);
  }),
  // Broken human-delta chains.
  fc
    .tuple(
      base,
      fc.constantFrom(
        { deltas: [delta(1, 1)] }, // a gap in sequence
        { deltas: [delta(0, -1), delta(1, 1)] }, // a halt that is not last
        { deltas: [delta(0, 0, { escalation_reason: 'r' })], resolved: true }, // nothing follows
        {
          deltas: [delta(0, 1)],
          foi_escalation: {
            actor: { name: 'f', title: 't' },
            decision: 'ok',
            decision_code: 1,
            timestamp_ns: 2n ** 61n,
          },
        },
        { deltas: [delta(0, 2)] }, // a modification approved without the modification
        { deltas: [delta(0, 7)] },
        { deltas: [delta(0, 1, { timestamp_ns: 2n ** 61n }), delta(1, 1, { timestamp_ns: 5 })] },
        { deltas: [], autonomous: false },
        { deltas: 'none' },
        { chain_id: 5, deltas: [] },
      ),
    )
    .map(([d, edit]) =>
      enc.encode(
        sdkLine({
          ...d,
          human_delta_chain: {
            chain_id: 'c',
            agent_decision_ref: d.record_id,
            resolved: true,
            foi_escalation: null,
            ...edit,
          },
        }),
      ),
    ),
);

async function treeSize(): Promise<number> {
  return (await request<{ tree_size: number }>(`${shard.url}/readyz`)).body.tree_size;
}

function expectClientError(res: { status: number; body: unknown }): void {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  const e = (res.body as { error?: { code?: unknown; path?: unknown } }).error;
  expect(typeof e?.code).toBe('string');
  expect(typeof e?.path).toBe('string');
}

it('POST /v1/decisions rejects every bad body with a 4xx and appends nothing', async () => {
  const before = await treeSize();
  await fc.assert(
    fc.asyncProperty(badBody, async (body) => {
      expectClientError(await request(`${shard.url}/v1/decisions`, { body }));
    }),
    { numRuns: 150 },
  );
  expect(await treeSize()).toBe(before);
});

it('POST /v1/decisions:batch rejects a batch with any bad line whole and appends nothing', async () => {
  const before = await treeSize();
  await fc.assert(
    fc.asyncProperty(
      fc.array(base, { maxLength: 5 }),
      // One NDJSON line: no newline inside, not blank (blank lines are skipped by design).
      badBody.filter((b) => !b.includes(0x0a) && new TextDecoder().decode(b).trim() !== ''),
      fc.array(base, { maxLength: 5 }),
      async (head, bad, tail) => {
        const line = (d: unknown): Uint8Array => enc.encode(sdkLine(d) + '\n');
        const parts = [...head.map(line), bad, enc.encode('\n'), ...tail.map(line)];
        const body = Buffer.concat(parts);
        const res = await request<{ error: { problems?: { line: number }[] } }>(
          `${shard.url}/v1/decisions:batch`,
          { body },
        );
        expectClientError(res);
        if (res.status === 400) {
          expect(res.body.error.problems?.some((p) => p.line > head.length)).toBe(true);
        }
      },
    ),
    { numRuns: 100 },
  );
  expect(await treeSize()).toBe(before);
  expect(shard.child.exitCode).toBeNull();
});
