// The client library against real shards (`agdr local`): receipts once durable, idempotent
// resubmission, a record_id conflict refused and never retried, invalid input refused with its
// field path before anything is sent, submitMany over an async source, submitGroups, prove and
// verify.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgdrClient, SubmitError, verify } from '../../../src/client/index.ts';
import type { Receipt } from '../../../src/client/index.ts';
import { sdkLine, upstreamRecord } from '../../fixtures/records.ts';
import { killAll, startLocal, tempDir } from '../e2e/harness.ts';
import { runAgent } from '../../../examples/agent-loop.ts';
import type { LocalInfo } from '../e2e/harness.ts';

let dir: string;
let info: LocalInfo;

beforeAll(async () => {
  dir = tempDir('client-lib');
  ({ info } = await startLocal(dir, 2));
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The shard's count of refused requests for one reason (Prometheus text). */
async function rejected(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(
    `^agdr_shard_rejected_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`,
    'm',
  ).exec(text);
  return m ? Number(m[1]) : 0;
}

describe('AgdrClient', () => {
  it('submits one decision (object, SDK text or bytes) and resolves with its durable receipt', async () => {
    let tokens = 0;
    const client = new AgdrClient({
      coordinator: info.coordinator,
      token: () => `t${++tokens}`,
    });
    const record = upstreamRecord(1, { id: 'lib-1', ctx: { entity_id: 'e1' } });
    const receipt = await client.submit(record);
    expect(receipt).toMatchObject({ record_id: 'lib-1', routing: { key: 'e1', epoch: 0 } });
    expect(receipt.leaf_hash).toMatch(/^[0-9a-f]{64}$/);
    // The same decision again (as the SDK writes it, then as bytes): its original receipt.
    expect(await client.submit(sdkLine(record))).toEqual(receipt);
    expect(await client.submit(Buffer.from(sdkLine(record)))).toEqual(receipt);
    // The token function is asked once per request, so a rotated token is picked up.
    expect(tokens).toBe(3);
  });

  it('refuses a record_id taken by a different decision, once, without retrying', async () => {
    const client = new AgdrClient({ coordinator: info.coordinator });
    const first = await client.submit(upstreamRecord(2, { id: 'lib-2', ctx: { entity_id: 'e2' } }));
    const url = info.shards.find((s) => s.id === first.shard_id)?.url as string;
    const before = await rejected(url, 'record_id_conflict');
    const other = upstreamRecord(3, { id: 'lib-2', ctx: { entity_id: 'e2' } });
    const err = await client.submit(other).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SubmitError);
    expect(err).toMatchObject({ code: 'record_id_conflict', path: '$.record_id', status: 409 });
    expect(await rejected(url, 'record_id_conflict')).toBe(before + 1);
  });

  it('refuses invalid input with the field path before sending anything', async () => {
    const client = new AgdrClient({ coordinator: info.coordinator });
    const bad = upstreamRecord(4, { id: 'lib-4' });
    delete (bad.ppp_triplet as Record<string, unknown>).place;
    const err = (await client.submit(bad).catch((e: unknown) => e)) as SubmitError;
    expect(err.code).toBe('invalid_decision');
    expect(err.path).toBe('$.ppp_triplet.place');
    expect(err.problems.map((p) => p.path)).toEqual(['$.ppp_triplet.place']);
    const notJson = (await client.submit('{"record_id": ').catch((e: unknown) => e)) as SubmitError;
    expect(notJson.code).toBe('invalid_decision');
  });

  it('submitMany: an async source, every outcome by its index, bad items refused in place', async () => {
    const client = new AgdrClient({ coordinator: info.coordinator, lingerMs: 2 });
    async function* source() {
      for (let i = 0; i < 300; i++) {
        if (i === 150) yield '{"not": "a decision"}';
        else yield sdkLine(upstreamRecord(i, { id: `many-${i}`, ctx: { entity_id: `e${i % 9}` } }));
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    }
    const receipts = new Map<number, Receipt>();
    const refused = new Map<number, SubmitError>();
    for await (const o of client.submitMany(source())) {
      if (o.ok) receipts.set(o.index, o.receipt);
      else refused.set(o.index, o.error);
    }
    expect([...refused.keys()]).toEqual([150]);
    expect(refused.get(150)?.code).toBe('invalid_decision');
    expect(receipts.size).toBe(299);
    for (const [i, r] of receipts) expect(r.record_id).toBe(`many-${i}`);
    const places = new Set([...receipts.values()].map((r) => `${r.shard_id}/${r.seq}`));
    expect(places.size).toBe(299);
    expect(new Set([...receipts.values()].map((r) => r.shard_id))).toEqual(new Set([0, 1]));
  });

  it('submitGroups: groups in, arrays of outcomes out, indexes across groups, a tight budget', async () => {
    // A budget of two decisions makes the group feed wait for room many times.
    const client = new AgdrClient({
      coordinator: info.coordinator,
      lingerMs: 1,
      maxInFlightBytes: 2 * 1100,
    });
    const line = (i: number): string =>
      sdkLine(upstreamRecord(i, { id: `groups-${i}`, ctx: { entity_id: `g${i % 7}` } }));
    async function* groups() {
      yield [line(0), line(1), line(2)];
      yield [];
      yield [line(3), '{"not": "a decision"}', line(5)];
      await new Promise((r) => setTimeout(r, 5));
      yield Array.from({ length: 40 }, (_, k) => line(6 + k));
    }
    const seen: number[] = [];
    let arrays = 0;
    for await (const settled of client.submitGroups(groups())) {
      arrays++;
      for (const o of settled) {
        seen.push(o.index);
        if (o.index === 4)
          expect(o).toMatchObject({ ok: false, error: { code: 'invalid_decision' } });
        else expect(o.ok && o.receipt.record_id).toBe(`groups-${o.index}`);
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 46 }, (_, i) => i));
    expect(arrays).toBeGreaterThan(1);
    expect(arrays).toBeLessThanOrEqual(46);
  });

  it('a key the line scan cannot read (an escape) takes the full path, and its budget comes back', async () => {
    // Each such decision flies on canonicalized (fewer bytes than its SDK text): the budget of
    // two decisions must get back what each held, or the feed would wait for room for ever.
    const client = new AgdrClient({
      coordinator: info.coordinator,
      lingerMs: 1,
      maxInFlightBytes: 2 * 1100,
    });
    const line = (i: number): string =>
      sdkLine(upstreamRecord(i, { id: `escaped-${i}`, ctx: { entity_id: `k-${i % 3}` } })).replace(
        '"k-',
        '"k\\u002d',
      );
    const receipts: Receipt[] = [];
    for await (const o of client.submitMany(Array.from({ length: 30 }, (_, i) => line(i)))) {
      if (!o.ok) throw o.error;
      receipts[o.index] = o.receipt;
    }
    expect(receipts.map((r) => r.record_id)).toEqual(
      Array.from({ length: 30 }, (_, i) => `escaped-${i}`),
    );
    expect(receipts.map((r) => r.routing.key)).toEqual(
      Array.from({ length: 30 }, (_, i) => `k-${i % 3}`),
    );
    // Routed by the key's value, as the unescaped spelling is.
    const plain = await client.submit(
      upstreamRecord(99, { id: 'escaped-plain', ctx: { entity_id: 'k-0' } }),
    );
    expect(receipts[0]?.shard_id).toBe(plain.shard_id);
  });

  it('proves a record once it is sealed; the bundle verifies under the trust bundle', async () => {
    const client = new AgdrClient({ coordinator: info.coordinator });
    const receipt = await client.submit(
      upstreamRecord(9, { id: 'lib-prove', ctx: { entity_id: 'p' } }),
    );
    const bundle = await client.prove('lib-prove', { waitMs: 20_000 });
    expect(JSON.parse(bundle.envelope)).toMatchObject({
      seq: receipt.seq,
      shard: receipt.shard_id,
    });
    const trust = await client.trustBundle();
    const report = verify(bundle, trust);
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    // A key the trust bundle does not hold is refused.
    const other = { ...trust, keys: trust.keys.filter((k) => k.role === 'coordinator') };
    expect(client.verify(bundle, other).ok).toBe(false);
  });

  it('runs the agent loop of docs/CLIENT.md (examples/agent-loop.ts) end to end', async () => {
    const { receipts, report } = await runAgent(info.coordinator, 12, 'example');
    expect(receipts.map((r) => r.record_id)).toEqual(
      Array.from({ length: 12 }, (_, i) => `example-${i}`),
    );
    expect(report.ok).toBe(true);
  });
});
