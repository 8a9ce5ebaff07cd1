import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  parseBundle,
  serializeBundle,
  verifyBundle,
  type EvidenceBundle,
  type TrustAnchor,
} from '../../../src/core/bundle.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';
import {
  buildScenario,
  bundleFor,
  coordinatorSigner,
  keyOf,
  SHARDS,
  shardSigners,
  type Scenario,
} from './records-scenario.ts';

const lossy = new TextDecoder();
let scenario: Scenario;
let bundle: EvidenceBundle;
let bytes: Uint8Array;
const trustedKeys = (): string[] => [...shardSigners.map(keyOf), keyOf(coordinatorSigner)];

beforeAll(async () => {
  scenario = await buildScenario();
  bundle = bundleFor(scenario, 1, 0);
  bytes = serializeBundle(bundle);
});

const clone = (): EvidenceBundle => JSON.parse(JSON.stringify(bundle)) as EvidenceBundle;
const failed = (r: ReturnType<typeof verifyBundle>): string[] =>
  r.checks.filter((c) => !c.ok).map((c) => c.name);

describe('a complete bundle verifies', () => {
  it('from bytes, with every check passing and the keys used reported', () => {
    const report = verifyBundle(bytes, { trustedKeys: trustedKeys() });
    expect(failed(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'bundle',
      'keys',
      'envelope',
      'decision',
      'shard_checkpoint',
      'record_inclusion',
      'global_root_signature',
      'sealed_checkpoint',
      'root_tree_inclusion',
      'routing',
      'global_log_inclusion',
    ]);
    expect(report.keysUsed).toEqual([keyOf(shardSigners[1]!), keyOf(coordinatorSigner)]);
  });
  it('for every record of both sealed shards (proofs to the early and the full checkpoint)', () => {
    for (const shard of [0, 1]) {
      const n = scenario.logs[shard]!.envelopes.length;
      for (let seq = 0; seq < n; seq++) {
        const r = verifyBundle(serializeBundle(bundleFor(scenario, shard, seq)));
        expect(failed(r), `shard ${shard} seq ${seq}`).toEqual([]);
      }
    }
  });
  it('from a parsed value, and round-trips through parseBundle', () => {
    expect(verifyBundle(bundle).ok).toBe(true);
    expect(parseBundle(bytes)).toEqual(bundle);
  });
  it('without the optional global log part', () => {
    const b = clone();
    b.global_log = null;
    const r = verifyBundle(serializeBundle(b));
    expect(r.ok).toBe(true);
    expect(r.checks.at(-1)).toEqual({
      name: 'global_log_inclusion',
      ok: true,
      detail: 'not included (optional)',
    });
  });
});

describe('a bad bundle fails with the reason, never throws', () => {
  it('records of a missing shard cannot be sealed', () => {
    const r = verifyBundle(bundleFor(scenario, 2, 0));
    expect(failed(r)).toEqual(['sealed_checkpoint', 'root_tree_inclusion']);
    expect(r.checks.find((c) => c.name === 'sealed_checkpoint')?.detail).toMatch(
      /status is missing: timeout/,
    );
  });
  it('keys outside the trusted set', () => {
    const r = verifyBundle(bytes, { trustedKeys: [keyOf(coordinatorSigner)] });
    expect(failed(r)).toContain('keys');
    expect(r.ok).toBe(false);
  });
  it('a shard checkpoint signed by another key', async () => {
    const b = clone();
    const impostor = ed25519SignerFromSeed(shardSigners[1]!.name, new Uint8Array(32).fill(9));
    b.keys = [keyOf(impostor), keyOf(coordinatorSigner)];
    const r = verifyBundle(b);
    expect(failed(r)).toEqual([
      'shard_checkpoint',
      'record_inclusion',
      'sealed_checkpoint',
      'root_tree_inclusion',
    ]);
  });
  it('a misrouted record (routing recomputed from the decision)', () => {
    const b = clone();
    b.routing.epoch_table.epochs[0]!.shards = 5;
    const r = verifyBundle(b);
    expect(failed(r)).toEqual(['routing']);
  });
  it('garbage input', () => {
    for (const input of [null, 42, 'not json', new Uint8Array([0xff]), {}, [], { format: 1 }]) {
      const r = verifyBundle(input);
      expect(r.ok).toBe(false);
      expect(r.checks[0]?.name).toBe('bundle');
    }
  });
  it('a pretty-printed bundle is not canonical', () => {
    const r = verifyBundle(JSON.stringify(bundle, null, 2));
    expect(failed(r)).toEqual(['bundle']);
  });
  it('flipping any single byte of the serialized bundle fails verification (fast-check)', () => {
    const options = { trustedKeys: trustedKeys() };
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const copy = bytes.slice();
        copy[i] = (copy[i] as number) ^ x;
        const r = verifyBundle(copy, options);
        expect(
          r.ok,
          `byte ${i} ^ ${x}: ${lossy.decode(bytes.subarray(Math.max(0, i - 30), i + 30))}`,
        ).toBe(false);
      }),
      { numRuns: 400 },
    );
  });
});

describe('pinned keys: origin binding and validity windows', () => {
  /** The trust bundle of the scenario: every key bound to its log, valid from 0 until further notice. */
  const anchors = (): TrustAnchor[] => [
    ...shardSigners.map((s, i) => ({
      role: 'shard' as const,
      shard_id: i,
      origin: s.name,
      verifier_key: keyOf(s),
      valid_from_ns: '0',
      valid_until_ns: null,
    })),
    {
      role: 'coordinator' as const,
      origin: coordinatorSigner.name,
      verifier_key: keyOf(coordinatorSigner),
      valid_from_ns: '0',
      valid_until_ns: null,
    },
  ];
  /** The scenario's anchors with entry `i` changed. */
  const changed = (i: number, change: Partial<TrustAnchor>): TrustAnchor[] =>
    anchors().map((a, k) => (k === i ? { ...a, ...change } : a));
  const failures = (trust: TrustAnchor[]): Record<string, string> =>
    Object.fromEntries(
      verifyBundle(bytes, { trust })
        .checks.filter((c) => !c.ok)
        .map((c) => [c.name, c.detail]),
    );
  const coordinator = SHARDS;

  it('verifies when every signature is by a key pinned for its log and valid when it signed', () => {
    const report = verifyBundle(bytes, { trust: anchors() });
    expect(failed(report)).toEqual([]);
    expect(report.checks.find((c) => c.name === 'shard_checkpoint')?.detail).toMatch(
      /within its pinned validity/,
    );
    // Windows that hold the signing times exactly: [from, until) by the signed timestamp_ns.
    const tight = changed(1, {
      valid_from_ns: '1767225700000000000',
      valid_until_ns: '1767225700000000001',
    });
    expect(failed(verifyBundle(bytes, { trust: tight }))).toEqual([]);
  });

  it('fails a shard checkpoint signed outside its key window (expired, or not yet valid)', () => {
    expect(failures(changed(1, { valid_until_ns: '1' }))).toMatchObject({
      shard_checkpoint: expect.stringMatching(
        /signed at 1767225700000000000 ns, outside the validity/,
      ),
      // What depends on the shard checkpoint is not checked once it failed.
      sealed_checkpoint: 'not checked: shard_checkpoint failed',
    });
    expect(
      failures(changed(1, { valid_until_ns: '1767225700000000000' })).shard_checkpoint,
    ).toMatch(/outside the validity/);
    expect(failures(changed(1, { valid_from_ns: '1767225700000000001' }))).toHaveProperty(
      'shard_checkpoint',
    );
  });

  it("fails a global root and global checkpoint signed outside the coordinator key's window", () => {
    const f = failures(changed(coordinator, { valid_until_ns: '1767225700000000001' }));
    expect(f.global_root_signature).toMatch(
      /signed at 1767225700000000001 ns, outside the validity/,
    );
    // The global checkpoint (signed at ...002) is refused by the same window.
    expect(f.global_log_inclusion).toMatch(/not checked: global_root_signature failed/);
    const late = failures(
      changed(coordinator, {
        valid_from_ns: '1767225700000000001',
        valid_until_ns: '1767225700000000002',
      }),
    );
    expect(Object.keys(late)).toEqual(['global_log_inclusion']);
    expect(late.global_log_inclusion).toMatch(/signed at 1767225700000000002 ns, outside/);
  });

  it('fails a key pinned for another shard id or another origin', () => {
    expect(failures(changed(1, { shard_id: 2 })).shard_checkpoint).toMatch(
      /binds key .* to shard 2 .*, not to agdr\.dev\/default\/demo\/shard-1/,
    );
    expect(failures(changed(1, { origin: shardSigners[2]!.name })).shard_checkpoint).toMatch(
      /binds key/,
    );
    // A shard key pinned as the coordinator's cannot sign a shard checkpoint either.
    expect(failures(changed(1, { role: 'coordinator' })).shard_checkpoint).toMatch(/binds key/);
  });

  it('fails a key not in the trust bundle at all', () => {
    const without = anchors().filter((_, k) => k !== 1);
    expect(failures(without).keys).toMatch(/not in the trusted set/);
  });
});
