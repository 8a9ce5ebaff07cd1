// End to end on real processes: `agdr local` with 3 shards and a coordinator, decisions
// submitted across entities, every record proven and verified, any tampered byte rejected.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../../src/core/bundle.ts';
import { parseCheckpoint, verifyCheckpoint } from '../../../src/core/checkpoint.ts';
import { parseNote } from '../../../src/core/note.ts';
import { verifyConsistency } from '../../../src/core/merkle/proof.ts';
import { blake3 } from '../../../src/core/hash.ts';
import { fromHex } from '../../../src/core/bytes.ts';
import { parseJsonExact } from '../../../src/core/json-exact.ts';
import { routeDecision, type EpochTable } from '../../../src/core/routing.ts';
import { recordLine, upstreamRecord } from '../../fixtures/records.ts';
import type { TrustBundle } from '../../../src/clients/trust.ts';
import {
  decisions,
  getJson,
  killAll,
  runAgdr,
  spawnAgdr,
  startLocal,
  tempDir,
  waitFor,
} from './harness.ts';
import type { AgdrProcess, LocalInfo } from './harness.ts';
import { snapshotTree } from '../../unit/log-store/snapshot.ts';

let dir: string;
let local: AgdrProcess;
let info: LocalInfo;
const N = 60;

async function sealedSizes(): Promise<Map<number, number>> {
  const body = await getJson<{ shards: { shard_id: number; sealed_size: number | null }[] }>(
    `${info.coordinator}/v1/shards`,
  );
  return new Map(body.shards.map((s) => [s.shard_id, s.sealed_size ?? 0]));
}

beforeAll(async () => {
  dir = tempDir('e2e');
  ({ proc: local, info } = await startLocal(dir, 3));
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('agdr local, submit, prove, verify', () => {
  it('prints exactly one JSON line with the coordinator, the shards and the data directory', () => {
    expect(Object.keys(info).sort()).toEqual(['coordinator', 'data', 'shards']);
    expect(info.shards.map((s) => s.id)).toEqual([0, 1, 2]);
    expect(info.coordinator).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.data).toBe(dir);
  });

  it('serves the trust bundle: every shard key and the coordinator key, with versions', async () => {
    const trust = await getJson<TrustBundle>(`${info.coordinator}/v1/keys`);
    expect(trust.keys.map((k) => [k.role, k.origin, k.key_version])).toEqual([
      ['shard', 'agdr.dev/default/local/shard-0', 1],
      ['shard', 'agdr.dev/default/local/shard-1', 1],
      ['shard', 'agdr.dev/default/local/shard-2', 1],
      ['coordinator', 'agdr.dev/default/local/coordinator', 1],
    ]);
    // The first global root appears within an interval; its checkpoint verifies under the bundle.
    const checkpoint = await waitFor('the first global checkpoint', async () => {
      const res = await fetch(`${info.coordinator}/v1/checkpoint`);
      return res.ok ? res.text() : undefined;
    });
    expect(
      verifyCheckpoint(
        checkpoint,
        trust.keys.map((k) => k.verifier_key),
        'agdr.dev/default/local/coordinator',
      ).size,
    ).toBeGreaterThan(0);
  });

  // A dozen agdr processes in sequence: allow for a machine under load.
  it(
    'submits decisions routed by the client; every record proves and verifies; any tampered byte fails',
    { timeout: 300_000 },
    async () => {
      const input = decisions(N, 'e2e');
      const submitted = await runAgdr(
        ['submit', '-', '--coordinator', info.coordinator, '--json', '--batch', '25'],
        input,
      );
      expect(submitted.stderr).toContain(`${N} of ${N} decisions acknowledged`);
      expect(submitted.code).toBe(0);
      const receipts = submitted.stdout
        .split('\n')
        .map((l) => JSON.parse(l) as { shard_id: number; seq: number; record_id: string });
      expect(receipts).toHaveLength(N);
      const perShard = new Map<number, number>();
      for (const r of receipts)
        perShard.set(r.shard_id, Math.max(perShard.get(r.shard_id) ?? 0, r.seq + 1));
      expect(perShard.size).toBe(3);

      // A global root seals every shard at its acknowledged size.
      await waitFor('every shard sealed', async () => {
        const sealed = await sealedSizes();
        return [...perShard].every(([s, n]) => (sealed.get(s) ?? 0) >= n) ? true : undefined;
      });

      const out = path.join(dir, 'bundles');
      const ids = receipts.map((r) => r.record_id);
      const proved = await runAgdr([
        'prove',
        '--coordinator',
        info.coordinator,
        '--out-dir',
        out,
        ...ids.flatMap((id) => ['--record-id', id]),
      ]);
      // Every record: a bundle written, nothing else said.
      const problems = proved.stderr.split('\n').filter((l) => l !== '' && !/ -> /.test(l));
      expect(problems).toEqual([]);
      expect(proved.code).toBe(0);
      const trustFile = path.join(dir, 'trust-pinned.json');
      fs.writeFileSync(
        trustFile,
        JSON.stringify(await getJson<TrustBundle>(`${info.coordinator}/v1/keys`)),
      );
      const trusted = (JSON.parse(fs.readFileSync(trustFile, 'utf8')) as TrustBundle).keys.map(
        (k) => k.verifier_key,
      );
      for (const r of receipts) {
        const bytes = new Uint8Array(fs.readFileSync(path.join(out, `${r.record_id}.bundle.json`)));
        const report = verifyBundle(bytes, { trustedKeys: trusted });
        expect(report.checks.filter((c) => !c.ok)).toEqual([]);
        expect(report.ok).toBe(true);
      }

      // The CLI, offline, with pinned keys: a readable report and exit 0.
      const one = path.join(out, `${ids[0]}.bundle.json`);
      const ok = await runAgdr(['verify', one, '--trust', trustFile]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/record_inclusion/);
      expect(ok.stdout).toMatch(/VERIFIED$/);

      // Unpinned, the same bundle is only self-consistent: never VERIFIED, exit 3 (a bundle whose
      // every key a forger replaced would get exactly this answer).
      const unpinned = await runAgdr(['verify', one]);
      expect(unpinned.code).toBe(3);
      expect(unpinned.stdout).toMatch(/keys: NOT PINNED/);
      expect(unpinned.stdout).toMatch(/\nCONSISTENT \(KEYS NOT PINNED\): .*--trust FILE$/);
      expect(unpinned.stdout).not.toMatch(/VERIFIED/);
      const unpinnedJson = await runAgdr(['verify', one, '--json']);
      expect(unpinnedJson.code).toBe(3);
      expect(JSON.parse(unpinnedJson.stdout)).toMatchObject({ pinned: false, verdict: 'unpinned' });

      // Pinned keys carry their binding and window: a shard key expired before it signed, or
      // pinned for another shard, does not verify.
      const pinnedTrust = JSON.parse(fs.readFileSync(trustFile, 'utf8')) as TrustBundle;
      const shardOfOne = (JSON.parse(String(fs.readFileSync(one))) as { shard: { origin: string } })
        .shard.origin;
      for (const [change, reason] of [
        [{ valid_until_ns: '1' }, /shard_checkpoint: signed at \d+ ns, outside the validity/],
        [{ valid_from_ns: '18446744073709551615' }, /outside the validity/],
        [{ shard_id: 99 }, /shard_checkpoint: the trust bundle binds key .* not to /],
      ] as const) {
        const keys = pinnedTrust.keys.map((k) =>
          k.origin === shardOfOne ? { ...k, ...change } : k,
        );
        const altered = path.join(dir, 'trust-altered.json');
        fs.writeFileSync(altered, JSON.stringify({ ...pinnedTrust, keys }));
        const r = await runAgdr(['verify', one, '--trust', altered]);
        expect([change, r.code]).toEqual([change, 1]);
        expect(r.stdout).toMatch(reason);
      }

      // Every single-byte change of a bundle file is caught (x ^ 1 never maps a hex digit to
      // another spelling of the same value, so every change is a real tamper).
      const original = new Uint8Array(fs.readFileSync(one));
      let caught = 0;
      for (let i = 0; i < original.length; i++) {
        const tampered = original.slice();
        tampered[i] = (tampered[i] as number) ^ 1;
        if (!verifyBundle(tampered, { trustedKeys: trusted }).ok) caught++;
        else throw new Error(`bundle with byte ${i} changed still verifies`);
      }
      expect(caught).toBe(original.length);

      // And the CLI names the failing check and exits non-zero.
      const bad = original.slice();
      const at = Buffer.from(bad).indexOf('"inclusion_proof":["') + 20;
      bad[at] = (bad[at] as number) ^ 1;
      const badFile = path.join(dir, 'tampered.json');
      fs.writeFileSync(badFile, bad);
      const failed = await runAgdr(['verify', badFile, '--trust', trustFile]);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/^FAILED: \S+/m);
    },
  );

  it('rejects bad input with the line and field path, and an unknown record with its reason', async () => {
    const lines = decisions(3, 'bad').trim().split('\n');
    const broken = JSON.parse(lines[1] as string) as Record<string, unknown>;
    delete (broken.ppp_triplet as Record<string, unknown>).place;
    const input = [lines[0], JSON.stringify(broken), 'not json', lines[2]].join('\n') + '\n';
    const r = await runAgdr(
      ['submit', '-', '--coordinator', info.coordinator, '--validate-first'],
      input,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothing sent');
    expect(r.stderr).toMatch(/line 2: \$\.ppp_triplet\.place: /);
    expect(r.stderr).toMatch(/line 3: \$: /);
    const missing = await runAgdr([
      'prove',
      '--coordinator',
      info.coordinator,
      '--record-id',
      'no-such-record',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not_found: no shard holds record_id "no-such-record"/);
  });

  it('refuses to prove a record_id held by two shards, naming both; --shard/--seq chooses', async () => {
    // The same record_id under two entities that route to different shards: each shard holds
    // one (record_ids are unique per shard), and proving "the" record would pick one at random.
    const table = await getJson<EpochTable>(`${info.coordinator}/v1/routing`);
    const placed = new Map<number, string>();
    for (let e = 0; placed.size < 2; e++) {
      const line = recordLine(upstreamRecord(0, { id: 'twin-0', ctx: { entity_id: `twin-${e}` } }));
      const shard = routeDecision(parseJsonExact(line) as Record<string, unknown>, table).shard;
      if (!placed.has(shard)) placed.set(shard, line);
    }
    const seqs = new Map<number, number>();
    for (const [shard, d] of placed) {
      const url = info.shards.find((s) => s.id === shard)?.url as string;
      const res = await fetch(`${url}/v1/decisions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: d,
      });
      expect(res.status).toBe(201);
      seqs.set(shard, ((await res.json()) as { seq: number }).seq);
    }
    const out = path.join(dir, 'twin.bundle.json');
    const args = ['prove', '--coordinator', info.coordinator, '--out', out, '--wait', '10s'];
    const refused = await runAgdr([...args, '--record-id', 'twin-0']);
    expect(refused.code).toBe(1);
    for (const [shard, seq] of seqs) expect(refused.stderr).toContain(`shard ${shard} seq ${seq}`);
    expect(refused.stderr).toMatch(
      /ambiguous: record_id "twin-0" is held by 2 shards .* --shard N --seq S/,
    );
    expect(fs.existsSync(out)).toBe(false);
    const [shard, seq] = [...seqs][0] as [number, number];
    const chosen = await runAgdr([...args, '--shard', String(shard), '--seq', String(seq)]);
    expect(chosen.code, chosen.stderr).toBe(0);
    const bundle = JSON.parse(fs.readFileSync(out, 'utf8')) as { envelope: string };
    expect(parseJsonExact(bundle.envelope)).toMatchObject({
      shard,
      seq,
      decision: parseJsonExact(placed.get(shard) as string),
    });
  });

  it('keeps one append-only global log: consistency between two global checkpoints verifies', async () => {
    const trust = await getJson<TrustBundle>(`${info.coordinator}/v1/keys`);
    const a = parseCheckpoint(
      parseNote(await (await fetch(`${info.coordinator}/v1/checkpoint`)).text()).text,
    );
    const b = await waitFor('the global log to grow', async () => {
      const note = await (await fetch(`${info.coordinator}/v1/checkpoint`)).text();
      const cp = verifyCheckpoint(
        note,
        trust.keys.map((k) => k.verifier_key),
        'agdr.dev/default/local/coordinator',
      );
      return cp.size > a.size ? cp : undefined;
    });
    const proof = await getJson<{ hashes: string[] }>(
      `${info.coordinator}/v1/proofs/consistency?from=${a.size}&to=${b.size}`,
    );
    expect(() =>
      verifyConsistency(blake3, a.size, b.size, proof.hashes.map(fromHex), a.rootHash, b.rootHash),
    ).not.toThrow();
  });

  it('stops cleanly, passes fsck, resumes the same logs on restart, and fsck catches a flipped byte', async () => {
    const trust = await getJson<TrustBundle>(`${info.coordinator}/v1/keys`);
    const keys = trust.keys.map((k) => k.verifier_key);
    const before = await sealedSizes();
    const a = verifyCheckpoint(
      await (await fetch(`${info.coordinator}/v1/checkpoint`)).text(),
      keys,
      'agdr.dev/default/local/coordinator',
    );
    // A running shard's log is locked: the check refuses it (exit 2) rather than race it.
    const live = await runAgdr(['verify', '--log', path.join(dir, 'shards/0')]);
    expect(live.stderr).toMatch(/FAILED: .*open in process/);
    expect(live.code).toBe(2);
    expect(await local.kill('SIGTERM')).toBe(0);

    for (const sub of ['shards/0', 'shards/1', 'shards/2', 'coordinator']) {
      const before = snapshotTree(path.join(dir, sub));
      const fsck = await runAgdr([
        'verify',
        '--log',
        path.join(dir, sub),
        '--trust',
        path.join(dir, 'trust.json'),
      ]);
      expect(fsck.stdout).toMatch(/OK$/);
      expect(fsck.code).toBe(0);
      // The check is read-only: the directory is byte for byte as it was.
      expect(snapshotTree(path.join(dir, sub))).toEqual(before);
    }

    // Resumed without --shards: the data directory says how many.
    local = spawnAgdr(['local', '--data', dir, '--port', '0', '--interval', '1s', '--json']);
    info = JSON.parse(await local.firstLine()) as LocalInfo;
    expect(info.shards).toHaveLength(3);
    const b = await waitFor('the resumed global log to grow', async () => {
      const res = await fetch(`${info.coordinator}/v1/checkpoint`);
      const cp = res.ok
        ? verifyCheckpoint(await res.text(), keys, 'agdr.dev/default/local/coordinator')
        : undefined;
      return cp !== undefined && cp.size > a.size ? cp : undefined;
    });
    const proof = await getJson<{ hashes: string[] }>(
      `${info.coordinator}/v1/proofs/consistency?from=${a.size}&to=${b.size}`,
    );
    verifyConsistency(blake3, a.size, b.size, proof.hashes.map(fromHex), a.rootHash, b.rootHash);
    const after = await sealedSizes();
    for (const [shard, size] of before) expect(after.get(shard)).toBe(size);
    expect(await local.kill('SIGTERM')).toBe(0);

    // One flipped byte inside a stored record: the full check refuses the log.
    const segments = path.join(dir, 'shards/1/log/records');
    const seg = path.join(segments, fs.readdirSync(segments)[0] as string);
    const bytes = fs.readFileSync(seg);
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = (bytes[mid] as number) ^ 1;
    fs.writeFileSync(seg, bytes);
    const broken = await runAgdr(['verify', '--log', path.join(dir, 'shards/1')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/FAILED/);
  });
});
