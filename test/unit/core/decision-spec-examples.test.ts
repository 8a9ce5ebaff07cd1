// The worked examples of docs/spec/30-decisions-and-envelopes.md, 40-routing.md,
// 50-global-roots.md and 60-evidence-bundles.md, recomputed: a doc that drifts from the code
// fails here. Each example is the first fenced block after a `<!-- check: NAME -->` marker.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../../src/core/bytes.ts';
import { verifyBundle } from '../../../src/core/bundle.ts';
import { prepareDecision, validateDecision, type Decision } from '../../../src/core/decision.ts';
import { encodeEnvelope, type EnvelopeMeta } from '../../../src/core/envelope.ts';
import {
  shardEntryInclusionProof,
  verifyGlobalRootRecord,
  type GlobalRootRecord,
} from '../../../src/core/global-root.ts';
import { blake3Reference } from '../../../src/core/hash.ts';
import { verifierKeyString } from '../../../src/core/note.ts';
import {
  epochTableHash,
  jumpBucket,
  keyHash,
  moduloBucket,
  route,
  validateEpochTable,
  type EpochTable,
} from '../../../src/core/routing.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';

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
  const decision = JSON.parse(ex('decision-input')) as Decision;
  const prepared = prepareDecision(decision);
  it('canonical decision', () => {
    const want = ex('decision-canonical').trimEnd();
    expect(utf8.decode(prepared.canonical)).toBe(want);
    expect(want).toBe(canonicalize(decision));
    expect(prepared.canonical.length).toBe(585);
  });
  it('envelope and leaf hash (BLAKE3 from @noble)', () => {
    const meta = JSON.parse(ex('envelope-meta')) as EnvelopeMeta;
    const envelope = encodeEnvelope(meta, prepared.canonical);
    expect(utf8.decode(envelope)).toBe(ex('envelope').trimEnd());
    expect(envelope.length).toBe(723);
    expect(toHex(blake3Reference.hashLeaf(envelope))).toBe(ex('envelope-leaf-hash').trim());
    // The routing stated in the envelope is what the routing section's table gives.
    const table = JSON.parse(examples('40-routing.md')('epoch-table')) as EpochTable;
    const r = route(decision, table);
    expect({ epoch: r.epoch, key: r.key, strategy: r.strategy }).toEqual(meta.routing);
    expect(r.shard).toBe(meta.shard);
  });
  it('validation problems', () => {
    const problems = validateDecision(JSON.parse(ex('problems-input')));
    expect(problems).toEqual(JSON.parse(ex('problems')));
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
    for (const row of lines(ex('routes'))) {
      const m = /^(\S+) (\d+) -> shard (\d+) epoch (\d+) key (\S+)$/.exec(row);
      expect(m, row).not.toBeNull();
      const [, entity, ts, shard, epoch, key] = m as unknown as string[];
      const r = route(
        { entity_id: entity as string, session_id: 's', domain: 'd', timestamp_ns: ts as string },
        table,
      );
      expect([r.shard, r.epoch, r.key]).toEqual([Number(shard), Number(epoch), key]);
    }
  });
  it('time-partitioned example', () => {
    const table = validateEpochTable({
      epochs: [
        {
          epoch: 0,
          strategy: 'time-partitioned',
          bucket: 'jump',
          shards: 5,
          params: { window_ns: '3600000000000' },
          effective_from_ns: '0',
        },
      ],
    });
    const r = route(
      { entity_id: 'e', session_id: 's', domain: 'd', timestamp_ns: '1767225600000000000' },
      table,
    );
    expect(r).toMatchObject({ key: '490896', shard: 1 });
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
