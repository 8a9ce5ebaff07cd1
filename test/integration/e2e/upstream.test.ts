// End to end with records written by upstream AgDR (test/fixtures/upstream): `agdr local`,
// `agdr submit` of the records as the SDK serializes them, each retrievable with every integer
// digit, proved with `agdr prove` and verified with `agdr verify`; invalid upstream records
// get 400 with their paths.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/core/jcs.ts';
import { parseJsonExact } from '../../../src/core/json-exact.ts';
import { sdkLine } from '../../fixtures/records.ts';
import { getJson, killAll, runAgdr, startLocal, tempDir, waitFor } from './harness.ts';
import type { LocalInfo } from './harness.ts';

const fixtureDir = path.resolve(import.meta.dirname, '../../fixtures/upstream');
/** Every fixture as one NDJSON line the way the SDK's users write it (json.dumps). */
const fixtures = ['sdk', 'spec'].flatMap((sub) =>
  fs
    .readdirSync(path.join(fixtureDir, sub))
    .filter((f) => f.endsWith('.json'))
    .map((f) => {
      const text = fs.readFileSync(path.join(fixtureDir, sub, f), 'utf8');
      const value = parseJsonExact(text) as Record<string, unknown>;
      // The spec fixtures share record_ids (upstream's examples do): made unique per file.
      if (sub === 'spec') value.record_id = `${String(value.record_id)}_${f.replace('.json', '')}`;
      return { name: `${sub}/${f}`, value, line: sub === 'sdk' ? text.trim() : sdkLine(value) };
    }),
);

let dir: string;
let info: LocalInfo;

beforeAll(async () => {
  dir = tempDir('upstream');
  ({ info } = await startLocal(dir, 2));
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('upstream AgDR v0.2 records through agdr local', () => {
  it('are accepted, stored with every digit, proved and verified', async () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(14);
    const input = fixtures.map((f) => f.line).join('\n') + '\n';
    const submitted = await runAgdr(
      ['submit', '-', '--coordinator', info.coordinator, '--json'],
      input,
    );
    expect(submitted.stderr).toContain(
      `${fixtures.length} of ${fixtures.length} decisions acknowledged`,
    );
    expect(submitted.code).toBe(0);
    const receipts = submitted.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            shard_id: number;
            seq: number;
            record_id: string;
            routing: { pointer: string };
          },
      );
    // No record carries our routing members: default hash-by-entity read ctx or record_id.
    expect(new Set(receipts.map((r) => r.routing.pointer))).toEqual(new Set(['/record_id']));

    // Retrievable: the stored envelope holds the canonical record, 19-digit integers intact.
    for (const f of fixtures) {
      const r = receipts.find((x) => x.record_id === f.value.record_id);
      expect(r, f.name).toBeDefined();
      const shard = info.shards.find((s) => s.id === r?.shard_id)?.url as string;
      const res = await fetch(
        `${shard}/v1/records?record_id=${encodeURIComponent(String(f.value.record_id))}`,
      );
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(text).toContain(`{"decision":${canonicalJson(f.value)},"routing":`);
      const envelope = Buffer.from(
        (JSON.parse(text) as { envelope_base64: string }).envelope_base64,
        'base64',
      );
      for (const digits of f.line.match(/\d{19}/g) ?? [])
        expect(envelope.toString()).toContain(digits);
    }

    await waitFor('every record sealed', async () => {
      const body = await getJson<{ shards: { shard_id: number; sealed_size: number | null }[] }>(
        `${info.coordinator}/v1/shards`,
      );
      const sealed = new Map(body.shards.map((s) => [s.shard_id, s.sealed_size ?? 0]));
      return receipts.every((r) => (sealed.get(r.shard_id) ?? 0) > r.seq) ? true : undefined;
    });
    const out = path.join(dir, 'bundles');
    const proved = await runAgdr([
      'prove',
      '--coordinator',
      info.coordinator,
      '--out-dir',
      out,
      ...receipts.flatMap((r) => ['--record-id', r.record_id]),
    ]);
    expect(proved.code).toBe(0);
    const trustFile = path.join(dir, 'trust.json');
    fs.writeFileSync(trustFile, JSON.stringify(await getJson(`${info.coordinator}/v1/keys`)));
    for (const r of receipts) {
      const file = path.join(out, `${r.record_id}.bundle.json`);
      const verified = await runAgdr(['verify', file, '--trust', trustFile]);
      expect(verified.stdout, r.record_id).toMatch(/VERIFIED$/);
      expect(verified.code).toBe(0);
    }
    // The bundle carries the envelope bytes: the timestamp is the one the SDK wrote.
    const sample = fs.readFileSync(
      path.join(out, `${fixtures[0]?.value.record_id as string}.bundle.json`),
      'utf8',
    );
    expect(sample).toContain(`timestamp_ns\\":${String(fixtures[0]?.value.timestamp_ns)}`);
  });

  it('refuses invalid upstream records with 400 and the path of each problem', async () => {
    const shard = info.shards[0]?.url as string;
    const base = parseJsonExact(
      fs.readFileSync(path.join(fixtureDir, 'sdk/halted.json'), 'utf8'),
    ) as Record<string, unknown>;
    const post = async (
      body: string | Uint8Array,
    ): Promise<{ status: number; error: { code: string; path: string } }> => {
      const res = await fetch(`${shard}/v1/decisions`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      return {
        status: res.status,
        ...((await res.json()) as { error: { code: string; path: string } }),
      };
    };
    // Body, and the path the 400 names.
    const cases: [string | Uint8Array, string][] = [
      [sdkLine({ ...base, ppp_triplet: { provenance: 'p', place: 'x' } }), '$.ppp_triplet.purpose'],
      [
        sdkLine({ ...base, ppp_triplet: { provenance: 'p', place: '   ', purpose: 'q' } }),
        '$.ppp_triplet.place',
      ],
      [sdkLine({ ...base, spec_version: '0.3' }), '$.spec_version'],
      [
        sdkLine(base).replace('{"record_id": ', '{"record_id": "agdr_x", "record_id": '),
        '$.record_id',
      ],
      [new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(sdkLine(base))]), '$'],
    ];
    for (const [body, want] of cases) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.error.code).toBe('invalid_decision');
      expect(r.error.path).toBe(want);
    }
    const halted = structuredClone(base);
    const chain = halted.human_delta_chain as { deltas: Record<string, unknown>[] };
    chain.deltas.push({ ...chain.deltas[0], sequence: 1, delta_id: 'next', action: 1 });
    const r = await post(sdkLine(halted));
    expect(r.status).toBe(400);
    expect(r.error.path).toBe('$.human_delta_chain.deltas[0].action');
  });
});
