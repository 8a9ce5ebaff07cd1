import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  parseBundle,
  serializeBundle,
  verifyBundle,
  type EvidenceBundle,
} from '../../../src/core/bundle.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';
import {
  buildScenario,
  bundleFor,
  coordinatorSigner,
  keyOf,
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
