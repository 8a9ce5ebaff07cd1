// The worked examples of docs/spec/30-decisions-and-envelopes.md, 40-routing.md,
// 50-global-roots.md and 60-evidence-bundles.md, recomputed: a doc that drifts from the code
// fails here. Each example is the first fenced block after a `<!-- check: NAME -->` marker.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../../src/core/bytes.ts';
import { verifyBundle } from '../../../src/core/bundle.ts';
import { parseDecisionLine, parseDecisionText } from '../../../src/core/decision.ts';
import { encodeEnvelope, type EnvelopeMeta } from '../../../src/core/envelope.ts';
import {
  shardEntryInclusionProof,
  verifyGlobalRootRecord,
  type GlobalRootRecord,
} from '../../../src/core/global-root/index.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { verifierKeyString } from '../../../src/core/note.ts';
import {
  epochTableHash,
  jumpBucket,
  keyHash,
  moduloBucket,
  routeDecision,
  validateEpochTable,
  type EpochTable,
} from '../../../src/core/routing.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';
import { canonicalJson } from '../../../src/core/jcs.ts';
import { parseJsonExact } from '../../../src/core/json-exact.ts';

const specDir = path.resolve(import.meta.dirname, '../../../docs/spec');

function examples(file: string): (name: string) => string {
  const text = readFileSync(path.join(specDir, file), 'utf8');
  const out = new Map<string, string>();
  const re = /<!-- check: ([a-z0-9-]+) -->\s*```[a-z]*\n([\s\S]*?)```/g;
  for (const m of text.matchAll(re)) out.set(m[1] as string, m[2] as string);
  return (name) => {
    const block = out.get(name);
    if (block === undefined) throw new Error(`example '${name}' missing from ${file}`);
    return block;
  };
}

const lines = (block: string): string[] => block.split('\n').filter((l) => l.length > 0);

describe('30-decisions-and-envelopes.md', () => {
  const ex = examples('30-decisions-and-envelopes.md');
  const input = ex('decision-input').trimEnd();
  const parsed = parseDecisionLine(utf8.encode(input));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const prepared = parsed.prepared;
  it('integer vectors: every digit kept, RFC 8785 below 2^53', () => {
    for (const row of lines(ex('integer-vectors'))) {
      const [literal, canonical] = row.split(' ') as [string, string];
      expect(canonicalJson(parseJsonExact(literal)), row).toBe(canonical);
      if (Number.isSafeInteger(Number(canonical)) || literal.includes('.') || /e/i.test(literal)) {
        expect(canonicalize(JSON.parse(literal)), row).toBe(canonical);
      }
    }
  });
  it('canonical decision', () => {
    const want = ex('decision-canonical').trimEnd();
    expect(utf8.decode(prepared.canonical)).toBe(want);
    expect(want).toBe(canonicalJson(parseJsonExact(input)));
    expect(want).toContain('"timestamp_ns":1796569260694147634}');
    expect(prepared.canonical.length).toBe(1039);
  });
  it('envelope and leaf hash (BLAKE3 from @noble)', () => {
    const meta = JSON.parse(ex('envelope-meta')) as EnvelopeMeta;
    const envelope = encodeEnvelope(meta, prepared.canonical);
    expect(utf8.decode(envelope)).toBe(ex('envelope').trimEnd());
    expect(envelope.length).toBe(1202);
    expect(toHex(blake3Reference.hashLeaf(envelope))).toBe(ex('envelope-leaf-hash').trim());
    // The routing stated in the envelope is what the routing section's table gives.
    const table = JSON.parse(examples('40-routing.md')('epoch-table')) as EpochTable;
    const r = routeDecision(prepared.decision, table);
    expect({ epoch: r.epoch, key: r.key, pointer: r.pointer, strategy: r.strategy }).toEqual(
      meta.routing,
    );
    expect(r.shard).toBe(meta.shard);
  });
  it('validation problems', () => {
    const r = parseDecisionText(ex('problems-input').trimEnd());
    expect(r.ok ? [] : r.problems).toEqual(JSON.parse(ex('problems')));
  });
});

describe('40-routing.md', () => {
  const ex = examples('40-routing.md');
  it('key hashes and buckets', () => {
    const rows = lines(ex('key-hashes'));
    expect(rows.length).toBe(5);
    for (const row of rows) {
      const m = /^(".*") ([0-9a-f]{16}) (\d+) (\d+) (\d+) (\d+)$/.exec(row);
      expect(m, row).not.toBeNull();
      const [, key, hex, m4, j4, m5, j5] = m as unknown as string[];
      const keyText = JSON.parse(key as string) as string;
      const h = keyHash(keyText);
      // Independent: @noble BLAKE3, first 8 bytes.
      expect(toHex(blake3Reference.digest(utf8.encode(keyText)).subarray(0, 8))).toBe(hex);
      expect(h.toString(16).padStart(16, '0')).toBe(hex);
      expect([moduloBucket(h, 4), jumpBucket(h, 4), moduloBucket(h, 5), jumpBucket(h, 5)]).toEqual(
        [m4, j4, m5, j5].map(Number),
      );
    }
  });
  it('epoch table, its hash, and routes', () => {
    const table = validateEpochTable(JSON.parse(ex('epoch-table')));
    expect(epochTableHash(table)).toBe(ex('epoch-table-hash').trim());
    expect(toHex(blake3Reference.digest(utf8.encode(canonicalize(table) as string)))).toBe(
      ex('epoch-table-hash').trim(),
    );
    const routes = lines(ex('routes'));
    expect(routes.length).toBe(5);
    for (const row of routes) {
      const m = /^(\S+) (\d+) -> shard (\d+) epoch (\d+) key (\S+) pointer (\S+)$/.exec(row);
      expect(m, row).not.toBeNull();
      const [, entity, ts, shard, epoch, key, pointer] = m as unknown as string[];
      const record: Record<string, unknown> =
        entity === '-'
          ? { record_id: key, ctx: {}, timestamp_ns: BigInt(ts as string) }
          : { record_id: 'r', entity_id: entity, timestamp_ns: BigInt(ts as string) };
      const r = routeDecision(record, table);
      expect([r.shard, r.epoch, r.key, r.pointer]).toEqual([
        Number(shard),
        Number(epoch),
        key,
        pointer,
      ]);
    }
  });
  it('time-partitioned example', () => {
    const table = validateEpochTable({
      epochs: [
        {
          epoch: 0,
          strategy: 'time-partitioned',
          key_pointers: [],
          bucket: 'jump',
          shards: 5,
          params: { window_ns: '3600000000000' },
          effective_from_ns: '0',
        },
      ],
    });
    const r = routeDecision({ record_id: 'r', timestamp_ns: 1767225600000000000n }, table);
    expect(r).toMatchObject({ key: '490896', shard: 1, pointer: '/timestamp_ns' });
  });
});

describe('50-global-roots.md', () => {
  const ex = examples('50-global-roots.md');
  const [shardKey, coordinatorKey] = lines(ex('example-keys')) as [string, string];
  const record = JSON.parse(ex('global-root-record')) as GlobalRootRecord;
  it('keys are those of the stated seeds', () => {
    const shard = ed25519SignerFromSeed(
      'agdr.dev/default/demo/shard-0',
      new Uint8Array(32).fill(1),
    );
    const coord = ed25519SignerFromSeed(
      'agdr.dev/default/demo/coordinator',
      new Uint8Array(32).fill(0x42),
    );
    expect(verifierKeyString(shard.name, shard.publicKey)).toBe(shardKey);
    expect(verifierKeyString(coord.name, coord.publicKey)).toBe(coordinatorKey);
  });
  it('the record verifies (signature, tree, totals, shard checkpoint)', () => {
    expect(() =>
      verifyGlobalRootRecord(record, [coordinatorKey], { shardKeys: [shardKey] }),
    ).not.toThrow();
    const table = validateEpochTable(JSON.parse(ex('example-routing')));
    expect(record.routing_epoch_hash).toBe(epochTableHash(table));
  });
  it('Root Merkle Tree leaves and root (BLAKE3 from @noble)', () => {
    const leaves = record.shard_roots.map((e) =>
      blake3Reference.hashLeaf(utf8.encode(canonicalize(e) as string)),
    );
    expect(lines(ex('root-tree-leaves'))).toEqual(leaves.map((h, i) => `leaf ${i} ${toHex(h)}`));
    expect(toHex(blake3Reference.hashChildren(leaves[0]!, leaves[1]!))).toBe(
      record.global_merkle_root,
    );
    expect(shardEntryInclusionProof(record, 1)).toEqual({
      shard_id: 1,
      leaf_index: 1,
      tree_size: 2,
      proof: [toHex(leaves[0]!)],
    });
  });
});

describe('60-evidence-bundles.md', () => {
  it('the check list is the verifier report, in order', () => {
    const names = lines(examples('60-evidence-bundles.md')('bundle-checks')).map(
      (l) => l.split(' ')[0],
    );
    // A bundle that fails at the first check still reports only what ran; a parsed bundle
    // value (not bytes) runs every check, failing ones included.
    const report = verifyBundle({
      format: 'agdr-evidence-bundle/v1',
      envelope: 'x',
      shard: { origin: 'o', checkpoint: 'c', inclusion_proof: [] },
      seal: {
        record: {},
        consistency_proof: [],
        entry_proof: { shard_id: 0, leaf_index: 0, tree_size: 1, proof: [] },
      },
      routing: { epoch_table: {} },
      global_log: null,
      keys: ['k'],
    });
    expect(report.checks.map((c) => c.name)).toEqual(names);
    expect(report.ok).toBe(false);
  });
});
