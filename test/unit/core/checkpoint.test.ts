import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, utf8 } from '../../../src/core/bytes.ts';
import {
  CheckpointError,
  coordinatorOrigin,
  formatCheckpoint,
  parseCheckpoint,
  parseCheckpointNote,
  parseOrigin,
  shardOrigin,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
} from '../../../src/core/checkpoint.ts';
import { NoteError, parseNote, verifierKeyString } from '../../../src/core/note.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';

function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CheckpointError || e instanceof NoteError) return e.code;
    throw e;
  }
  return 'ok';
}

const root = fromBase64('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');

describe('checkpoint body', () => {
  it('parses the tlog-checkpoint spec example', () => {
    const note =
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
      '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n';
    const { text, signatures } = parseNote(note);
    expect(parseCheckpoint(text)).toEqual({
      origin: 'example.com/behind-the-sofa',
      size: 20852163,
      rootHash: root,
    });
    expect(signatures[0]?.name).toBe('example.com/behind-the-sofa');
  });

  it('formats the AgDR extension lines in their fixed order, then others', () => {
    const cp: Checkpoint = {
      origin: 'agdr.dev/prod/main/shard-3',
      size: 0,
      rootHash: root,
      timestampNs: 1764230400123456789n,
      routingEpoch: 2,
      extensions: ['other line'],
    };
    const text = formatCheckpoint(cp);
    expect(text).toBe(
      'agdr.dev/prod/main/shard-3\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n' +
        'timestamp_ns 1764230400123456789\nrouting_epoch 2\nother line\n',
    );
    expect(parseCheckpoint(text)).toEqual(cp);
  });

  it('round-trips any checkpoint', () => {
    fc.assert(
      fc.property(
        fc.record({
          origin: fc.constantFrom('a', 'agdr.dev/x/y/shard-0', 'example.com/log42'),
          size: fc.maxSafeNat(),
          rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          timestampNs: fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { nil: undefined }),
          routingEpoch: fc.option(fc.maxSafeNat(), { nil: undefined }),
          extensions: fc.option(fc.array(fc.constantFrom('x', 'ext 1'), { minLength: 1 }), {
            nil: undefined,
          }),
        }),
        (raw) => {
          const cp = Object.fromEntries(
            Object.entries(raw).filter(([, v]) => v !== undefined),
          ) as unknown as Checkpoint;
          expect(parseCheckpoint(formatCheckpoint(cp))).toEqual(cp);
        },
      ),
    );
  });

  it('rejects every malformed body', () => {
    const r = toBase64(root);
    const bad = [
      '',
      'origin\n5\n',
      `origin\n5\n${r}`,
      `\n5\n${r}\n`,
      `origin\n05\n${r}\n`,
      `origin\n-1\n${r}\n`,
      `origin\n+5\n${r}\n`,
      `origin\n5.0\n${r}\n`,
      `origin\n 5\n${r}\n`,
      `origin\n9007199254740992\n${r}\n`,
      `origin\n5\n${r.slice(0, -1)}\n`,
      `origin\n5\n${toBase64(root.subarray(1))}\n`,
      `origin\n5\n${r}\n\n`,
      `origin\n5\n${r}\nok\n\n`,
      `origin\r\n5\n${r}\n`,
      `origin\n5\n${r}\ntimestamp_ns 01\n`,
      `origin\n5\n${r}\ntimestamp_ns 18446744073709551616\n`,
      `origin\n5\n${r}\ntimestamp_ns 1\ntimestamp_ns 1\n`,
      `origin\n5\n${r}\nrouting_epoch 1\ntimestamp_ns 1\n`,
      `origin\n5\n${r}\nother\ntimestamp_ns 1\n`,
      `origin\n5\n${r}\nrouting_epoch x\n`,
      `origin\n5\n${r}\ntimestamp_ns\n`,
    ];
    for (const text of bad) {
      expect(
        errorCode(() => parseCheckpoint(text)),
        JSON.stringify(text),
      ).toBe('malformed_checkpoint');
    }
    expect(() => formatCheckpoint({ origin: 'o', size: -1, rootHash: root })).toThrow(
      CheckpointError,
    );
    expect(() => formatCheckpoint({ origin: 'o', size: 1, rootHash: root.subarray(1) })).toThrow(
      CheckpointError,
    );
    expect(() =>
      formatCheckpoint({ origin: 'o', size: 1, rootHash: root, extensions: ['timestamp_ns 5'] }),
    ).toThrow(CheckpointError);
    expect(() =>
      formatCheckpoint({ origin: 'o', size: 1, rootHash: root, extensions: [''] }),
    ).toThrow(CheckpointError);
  });
});

describe('signed checkpoints', () => {
  const origin = shardOrigin('prod', 'main', 3);
  const signer = ed25519SignerFromSeed(origin, new Uint8Array(32).fill(7));
  const key = verifierKeyString(origin, signer.publicKey);
  const witness = ed25519SignerFromSeed('witness.example/w1', new Uint8Array(32).fill(8));
  const cp: Checkpoint = { origin, size: 42, rootHash: root, timestampNs: 1n, routingEpoch: 0 };

  it('sign then verify returns the checkpoint; cosignatures from unknown keys are ignored', async () => {
    const note = await signCheckpoint(cp, signer, witness);
    expect(verifyCheckpoint(note, [key], origin)).toEqual(cp);
    expect(verifyCheckpoint(utf8.encode(note), [key], origin)).toEqual(cp);
  });

  it('parseCheckpointNote reads a signed note without verifying; malformed notes or bodies throw', async () => {
    const note = await signCheckpoint(cp, signer, witness);
    expect(parseCheckpointNote(note)).toEqual(cp);
    expect(parseCheckpointNote(utf8.encode(note))).toEqual(cp);
    expect(errorCode(() => parseCheckpointNote(formatCheckpoint(cp)))).toBe('malformed_note');
    const badBody = note.replace('\n42\n', '\n042\n');
    expect(errorCode(() => parseCheckpointNote(badBody))).toBe('malformed_checkpoint');
  });

  it('rejects a wrong origin, a signature by another name, and an unknown key', async () => {
    const note = await signCheckpoint(cp, signer);
    expect(errorCode(() => verifyCheckpoint(note, [key], shardOrigin('prod', 'main', 4)))).toBe(
      'origin_mismatch',
    );
    await expect(signCheckpoint(cp, witness)).rejects.toThrow(CheckpointError);
    const byWitness = await import('../../../src/core/note.ts').then((m) =>
      m.signNote(formatCheckpoint(cp), [witness]),
    );
    const witnessKey = verifierKeyString(witness.name, witness.publicKey);
    expect(errorCode(() => verifyCheckpoint(byWitness, [witnessKey], origin))).toBe('wrong_signer');
    const other = ed25519SignerFromSeed(origin, new Uint8Array(32).fill(9));
    expect(
      errorCode(() => verifyCheckpoint(note, [verifierKeyString(origin, other.publicKey)], origin)),
    ).toBe('unverified_note');
  });

  it('any single bit flip in the body or the signature is rejected', async () => {
    const note = await signCheckpoint(cp, signer);
    const bytes = utf8.encode(note);
    const bodyLen = utf8.encode(formatCheckpoint(cp)).length;
    const sigStart = note.lastIndexOf(' ') + 1;
    const sigB64 = note.slice(sigStart, -1);
    const sig = fromBase64(sigB64);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bodyLen * 8 - 1 }), (bit) => {
        const m = bytes.slice();
        m[bit >> 3] = (m[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(errorCode(() => verifyCheckpoint(m, [key], origin))).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: sig.length * 8 - 1 }), (bit) => {
        const m = sig.slice();
        m[bit >> 3] = (m[bit >> 3] as number) ^ (1 << (bit & 7));
        const mangled = note.slice(0, sigStart) + toBase64(m) + '\n';
        expect(errorCode(() => verifyCheckpoint(mangled, [key], origin))).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
  });
});

describe('origins', () => {
  it('formats and parses shard and coordinator origins', () => {
    expect(shardOrigin('default', 'agdr', 0)).toBe('agdr.dev/default/agdr/shard-0');
    expect(coordinatorOrigin('default', 'agdr')).toBe('agdr.dev/default/agdr/coordinator');
    expect(parseOrigin('agdr.dev/ns/c1/shard-12')).toEqual({
      kind: 'shard',
      namespace: 'ns',
      cluster: 'c1',
      shard: 12,
    });
    expect(parseOrigin('agdr.dev/ns/c1/coordinator')).toEqual({
      kind: 'coordinator',
      namespace: 'ns',
      cluster: 'c1',
    });
  });

  it('rejects bad names and foreign origins', () => {
    for (const [ns, c] of [
      ['', 'a'],
      ['A', 'a'],
      ['a', 'b/c'],
      ['a', 'b c'],
      ['a', '-b'],
      ['a', 'b+c'],
    ] as const) {
      expect(errorCode(() => shardOrigin(ns, c, 0))).toBe('invalid_origin');
      expect(errorCode(() => coordinatorOrigin(ns, c))).toBe('invalid_origin');
    }
    expect(errorCode(() => shardOrigin('a', 'b', -1))).toBe('invalid_origin');
    expect(errorCode(() => shardOrigin('a', 'b', 1.5))).toBe('invalid_origin');
    for (const o of [
      'agdr.dev/ns/c/shard-01',
      'agdr.dev/ns/c/shard-',
      'agdr.dev/ns/c/shard-1/x',
      'example.com/ns/c/shard-1',
      'agdr.dev/NS/c/shard-1',
      'agdr.dev/ns/c/coordinator2',
    ]) {
      expect(
        errorCode(() => parseOrigin(o)),
        o,
      ).toBe('invalid_origin');
    }
  });
});
