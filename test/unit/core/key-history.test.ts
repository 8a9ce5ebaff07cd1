// Key transitions and key histories (docs/spec/25-key-history.md): the worked example
// recomputed and checked with an independent Ed25519 implementation, the strict form, and chains
// that must be refused: forged, reordered, expired, starting from an untrusted key.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as noble from '@noble/ed25519';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toHex, utf8 } from '../../../src/core/bytes.ts';
import { parseCheckpoint } from '../../../src/core/checkpoint.ts';
import { serializeBundle, verifyBundle, type TrustAnchor } from '../../../src/core/bundle.ts';
import {
  checkKeyHistory,
  firstKeyAnchor,
  followKeyHistory,
  formatKeyTransition,
  KeyHistoryError,
  openKeyTransition,
  parseKeyTransition,
  signKeyTransition,
} from '../../../src/core/key-history.ts';
import { parseNote, verifierKeyString } from '../../../src/core/note.ts';
import { ed25519SignerFromSeed, type Signer } from '../../../src/core/signer.ts';
import {
  buildScenario,
  bundleFor,
  coordinatorSigner,
  keyOf,
  shardSigners,
} from './records-scenario.ts';

const spec = readFileSync(
  path.resolve(import.meta.dirname, '../../../docs/spec/25-key-history.md'),
  'utf8',
);
function example(name: string): string {
  const m = new RegExp(`<!-- check: ${name} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``).exec(spec);
  if (m === null) throw new Error(`example '${name}' missing from the spec`);
  return m[1] as string;
}

const seed = (first: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => first + i);
const NAME = 'agdr.dev/example/demo/shard-0';
const AT = 1764288000000000000n;
const v1 = ed25519SignerFromSeed(NAME, seed(0), 1);
const v2 = ed25519SignerFromSeed(NAME, seed(0x20), 2);
const v3 = ed25519SignerFromSeed(NAME, seed(0x40), 3);
const key = (s: Signer): string => verifierKeyString(s.name, s.publicKey);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(KeyHistoryError);
    return (err as KeyHistoryError).code;
  }
  throw new Error('expected a KeyHistoryError');
}

describe('the worked example', () => {
  it('the version 2 key', () => {
    const block = example('key-v2');
    expect(block).toContain(`public key    ${toHex(v2.publicKey)}`);
    expect(block).toContain(`verifier key  ${key(v2)}`);
  });

  it('the transition note is what signing gives, and both signatures verify independently', async () => {
    const note = example('key-transition');
    expect(await signKeyTransition(v1, v2, AT)).toBe(note);
    const { text, signatures } = parseNote(note);
    expect(signatures.map((s) => s.keyId.toString(16).padStart(8, '0'))).toEqual([
      '00e8d6f1',
      '3f5f1068',
    ]);
    // @noble/ed25519, not node:crypto: each signature over exactly the text bytes.
    for (const [i, signer] of [v1, v2].entries()) {
      const sig = signatures[i]!.signature;
      expect(await noble.verifyAsync(sig, utf8.encode(text), signer.publicKey)).toBe(true);
    }
    const line = note.split('\n').at(-2)!;
    expect(fromBase64(line.split(' ').at(-1)!).subarray(0, 4)).toEqual(
      Uint8Array.of(0x3f, 0x5f, 0x10, 0x68),
    );
  });

  it('following it from the trusted first key gives the listed windows', () => {
    const pinned = followKeyHistory([firstKeyAnchor(key(v1))], [example('key-transition')]);
    const lines = pinned.map(
      (a) => `${a.verifier_key} [${a.valid_from_ns}, ${a.valid_until_ns ?? '∞'})`,
    );
    expect(lines.join('\n') + '\n').toBe(example('key-windows'));
    expect(pinned.map((a) => [a.role, a.shard_id, a.origin])).toEqual([
      ['shard', 0, NAME],
      ['shard', 0, NAME],
    ]);
    // The checkpoint example of the checkpoints section is dated inside version 1's window.
    const cpSection = readFileSync(
      path.resolve(import.meta.dirname, '../../../docs/spec/20-signed-notes-and-checkpoints.md'),
      'utf8',
    );
    const cp = /<!-- check: signed-checkpoint -->\s*```text\n([\s\S]*?)```/.exec(cpSection)![1]!;
    expect(parseCheckpoint(parseNote(cp).text).timestampNs! < AT).toBe(true);
  });
});

describe('a transition', () => {
  it('opens to its fields', async () => {
    const t = openKeyTransition(await signKeyTransition(v1, v2, AT));
    expect(t).toEqual({
      origin: NAME,
      oldVersion: 1,
      oldKey: key(v1),
      newVersion: 2,
      newKey: key(v2),
      validFromNs: AT,
    });
    expect(parseKeyTransition(formatKeyTransition(t))).toEqual(t);
  });

  it('is parsed in its canonical form only', () => {
    const text = formatKeyTransition(openKeyTransition(example('key-transition')));
    const edits: [string, string][] = [
      ['agdr-key-transition/v1', 'agdr-key-transition/v2'],
      ['old 1 ', 'old 01 '],
      ['old 1 ', 'old  1 '],
      ['new 2 ', 'new 1 '], // not newer
      ['valid_from_ns 1764', 'valid_from_ns 01764'],
      ['valid_from_ns 1764288000000000000', 'valid_from_ns 99999999999999999999'],
      ['agdr.dev/example/demo/shard-0\nold', 'agdr.dev/example/demo/shard-1\nold'], // key names differ
      ['agdr.dev/example/demo/shard-0\nold', 'example.com/log\nold'],
      ['\nvalid_from_ns', '\nextra\nvalid_from_ns'],
    ];
    for (const [from, to] of edits) {
      const edited = text.replace(from, to);
      expect(edited, to).not.toBe(text);
      expect(
        codeOf(() => parseKeyTransition(edited)),
        to,
      ).toBe('malformed_transition');
    }
    expect(codeOf(() => parseKeyTransition(text.replace(key(v2), key(v1))))).toBe(
      'malformed_transition',
    );
  });

  it('without both signatures, or with a forged one, is refused', async () => {
    const note = example('key-transition');
    const [text, sigOld, sigNew] = [
      note.slice(0, note.indexOf('\n\n') + 2),
      ...note.slice(note.indexOf('\n\n') + 2).split(/(?<=\n)/),
    ];
    expect(codeOf(() => openKeyTransition(text + sigOld))).toBe('invalid_signature');
    expect(codeOf(() => openKeyTransition(text + sigNew))).toBe('invalid_signature');
    // A flipped bit in the old key's signature.
    const b = fromBase64(sigOld!.split(' ').at(-1)!.trim());
    b[10]! ^= 1;
    const forged = `— ${NAME} ${Buffer.from(b).toString('base64')}\n`;
    expect(codeOf(() => openKeyTransition(text + forged + sigNew))).toBe('invalid_signature');
    // The text changed under valid signatures.
    const later = note.replace(
      'valid_from_ns 1764288000000000000',
      'valid_from_ns 1764288000000000001',
    );
    expect(codeOf(() => openKeyTransition(later))).toBe('invalid_signature');
    // A third key (not the old one) endorsing the new key: the old key's signature is missing.
    const stranger = ed25519SignerFromSeed(NAME, seed(0x60), 1);
    const t = openKeyTransition(note);
    const impostor = await signKeyTransition(stranger, v2, AT);
    expect(openKeyTransition(impostor).oldKey).not.toBe(t.oldKey);
    const swapped = impostor.replace(key(stranger), key(v1));
    expect(codeOf(() => openKeyTransition(swapped))).toBe('invalid_signature');
  });
});

describe('following a key history', () => {
  let t12: string, t23: string;
  beforeAll(async () => {
    t12 = await signKeyTransition(v1, v2, AT);
    t23 = await signKeyTransition(v2, v3, AT + 1000n);
  });
  const first = (): TrustAnchor[] => [firstKeyAnchor(key(v1))];

  it('reaches every later key with consecutive windows', () => {
    const pinned = followKeyHistory(first(), [t12, t23]);
    expect(pinned.map((a) => [a.verifier_key, a.valid_from_ns, a.valid_until_ns])).toEqual([
      [key(v1), '0', AT.toString()],
      [key(v2), AT.toString(), (AT + 1000n).toString()],
      [key(v3), (AT + 1000n).toString(), null],
    ]);
  });

  it('a log down across a rotation goes straight to the newest version', async () => {
    const t13 = await signKeyTransition(v1, v3, AT);
    expect(followKeyHistory(first(), [t13]).map((a) => a.verifier_key)).toEqual([key(v1), key(v3)]);
  });

  it('keeps the histories of several logs apart', async () => {
    const c = (s: number, v: number): Signer =>
      ed25519SignerFromSeed('agdr.dev/example/demo/coordinator', seed(s), v);
    const [c1, c2] = [c(0x80, 1), c(0xa0, 2)];
    const tc = await signKeyTransition(c1, c2, AT + 5n);
    const pinned = followKeyHistory(first().concat(firstKeyAnchor(key(c1))), [t12, tc, t23]);
    expect(pinned.map((a) => [a.role, a.origin.split('/').at(-1), a.valid_from_ns])).toEqual([
      ['shard', 'shard-0', '0'],
      ['coordinator', 'coordinator', '0'],
      ['shard', 'shard-0', AT.toString()],
      ['coordinator', 'coordinator', (AT + 5n).toString()],
      ['shard', 'shard-0', (AT + 1000n).toString()],
    ]);
  });

  it('refuses a chain that starts from an untrusted key', () => {
    expect(codeOf(() => followKeyHistory(first(), [t23]))).toBe('untrusted_start');
    expect(codeOf(() => followKeyHistory([], [t12]))).toBe('untrusted_start');
    // The first key of another log does not start this one.
    const other = firstKeyAnchor(verifierKeyString('agdr.dev/example/demo/shard-1', v1.publicKey));
    expect(codeOf(() => followKeyHistory([other], [t12]))).toBe('untrusted_start');
  });

  it('refuses a reordered, repeated or gapped chain, naming the transition', async () => {
    expect(codeOf(() => followKeyHistory(first(), [t12, t12]))).toBe('broken_chain');
    const v4 = ed25519SignerFromSeed(NAME, seed(0x50), 4);
    const t34 = await signKeyTransition(v3, v4, AT + 2000n);
    expect(codeOf(() => followKeyHistory(first(), [t12, t34]))).toBe('broken_chain');
    expect(() => followKeyHistory(first(), [t12, t34, t23])).toThrow(/^\$\.transitions\[1\]: /);
    // A transition dated before the one it follows (a back-dated rotation).
    const early = await signKeyTransition(v2, v3, AT - 1n);
    expect(codeOf(() => followKeyHistory(first(), [t12, early]))).toBe('out_of_order');
  });

  it('refuses a key endorsing its successor after its own window ended', () => {
    const expired = [{ ...firstKeyAnchor(key(v1)), valid_until_ns: (AT - 1n).toString() }];
    expect(codeOf(() => followKeyHistory(expired, [t12]))).toBe('expired_key');
    const notYet = [{ ...firstKeyAnchor(key(v1)), valid_from_ns: AT.toString() }];
    expect(codeOf(() => followKeyHistory(notYet, [t12]))).toBe('out_of_order');
  });

  it('the document: a log, its first key and its transitions, nothing else', () => {
    const doc = {
      format: 'agdr-key-history/v1',
      origin: NAME,
      first: { version: 1, verifier_key: key(v1) },
      transitions: [t12, t23],
    };
    expect(checkKeyHistory(doc)).toEqual(doc);
    const bad = (edit: Record<string, unknown>): string =>
      codeOf(() => checkKeyHistory({ ...doc, ...edit }));
    expect(bad({ keys: [] })).toBe('malformed_history');
    expect(bad({ format: 'x' })).toBe('malformed_history');
    expect(bad({ origin: 'example.com/log' })).toBe('malformed_history');
    expect(bad({ first: { version: 0, verifier_key: key(v1) } })).toBe('malformed_history');
    expect(
      bad({ first: { version: 1, verifier_key: key(v1).replace('shard-0', 'shard-1') } }),
    ).toBe('malformed_history');
    expect(bad({ transitions: [1] })).toBe('malformed_history');
    // Another log's transition in this log's history.
    const shard1 = verifierKeyString('agdr.dev/example/demo/shard-1', v1.publicKey);
    expect(
      bad({ origin: 'agdr.dev/example/demo/shard-1', first: { version: 1, verifier_key: shard1 } }),
    ).toBe('malformed_history');
    expect(bad({ transitions: [t12.replace(NAME, 'agdr.dev/example/demo/shard-1')] })).toBe(
      'malformed_history',
    );
  });
});

describe('an evidence bundle verified with keys from a key history', () => {
  // The scenario's keys are the current versions; each log's first key is another one, and a
  // transition to the scenario's key took effect before the scenario signed anything.
  const firsts = [...shardSigners, coordinatorSigner].map((s, i) =>
    ed25519SignerFromSeed(s.name, seed(0x90 + i), 1),
  );

  it('verifies from the first keys alone, and fails when the rotation is dated after the signatures', async () => {
    const scenario = await buildScenario();
    const bytes = serializeBundle(bundleFor(scenario, 1, 0));
    const signedAt = parseCheckpoint(
      parseNote(bundleFor(scenario, 1, 0).shard.checkpoint).text,
    ).timestampNs!;
    const history = async (at: bigint): Promise<string[]> =>
      Promise.all(
        [...shardSigners, coordinatorSigner].map((s, i) =>
          signKeyTransition(firsts[i]!, { ...s, keyVersion: 2, sign: s.sign }, at),
        ),
      );
    const anchors = firsts.map((s) => firstKeyAnchor(key(s)));
    const before = followKeyHistory(anchors, await history(1n));
    const report = verifyBundle(bytes, { trust: before });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.keysUsed).toEqual([keyOf(shardSigners[1]!), keyOf(coordinatorSigner)]);
    // Without the history only the first keys are trusted: the bundle's keys are not.
    expect(verifyBundle(bytes, { trust: anchors }).ok).toBe(false);
    // Dated after the checkpoint was signed: the new key signed before it was valid.
    const after = followKeyHistory(anchors, await history(signedAt + 1n));
    const late = verifyBundle(bytes, { trust: after });
    const failedCheck = late.checks.find((c) => !c.ok)!;
    expect(failedCheck.name).toBe('shard_checkpoint');
    expect(failedCheck.detail).toMatch(/outside the validity/);
  });
});
