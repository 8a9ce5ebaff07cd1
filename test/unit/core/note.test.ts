// Signed notes: the published golang.org/x/mod/sumdb/note vectors (the reference
// implementation of c2sp.org/signed-note), the spec's own example, strict parsing of every
// malformed case, and Ed25519 cross-checked against @noble/ed25519.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import * as noble from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64, utf8 } from '../../../src/core/bytes.ts';
import {
  ed25519Verifier,
  keyId,
  NoteError,
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
  VerifierSet,
  verifierKeyString,
} from '../../../src/core/note.ts';
import { ed25519SignerFromSeed, verifyEd25519 } from '../../../src/core/signer.ts';

// golang.org/x/mod sumdb/note/note_test.go
const peterKey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const peterPrivate = 'AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'; // 0x01 || seed
const enochKey = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const text =
  'If you think cryptography is the answer to your problem,\n' +
  "then you don't know what your problem is.\n";
const peterSig =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const enochSig =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const peterSigner = ed25519SignerFromSeed('PeterNeumann', fromBase64(peterPrivate).subarray(1));

function errorCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof NoteError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('published vectors', () => {
  it('key ID and verifier key string', () => {
    expect(keyId('PeterNeumann', peterSigner.publicKey)).toBe(0xc74f20a3);
    expect(verifierKeyString('PeterNeumann', peterSigner.publicKey)).toBe(peterKey);
    const v = parseVerifierKey(enochKey);
    expect(v.name).toBe('EnochRoot');
    expect(v.keyId).toBe(0xaf0cfe78);
  });

  it('signs byte for byte like the reference', async () => {
    expect(await signNote(text, [peterSigner])).toBe(`${text}\n${peterSig}`);
  });

  it('opens: verified known keys, unknown keys ignored', () => {
    const note = `${text}\n${peterSig}${enochSig}`;
    const one = openNote(note, [peterKey]);
    expect(one.text).toBe(text);
    expect(one.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(one.unverified.map((s) => [s.name, s.keyId])).toEqual([['EnochRoot', 0xaf0cfe78]]);
    const both = openNote(note, [peterKey, enochKey]);
    expect(both.verified.map((s) => s.name)).toEqual(['PeterNeumann', 'EnochRoot']);
    expect(both.unverified).toEqual([]);
    expect(errorCode(() => openNote(note, []))).toBe('unverified_note');
    // Duplicated signature lines count once.
    const dup = openNote(`${text}\n${peterSig}${peterSig}${enochSig}`, [peterKey]);
    expect(dup.verified).toHaveLength(1);
    // Also from bytes.
    expect(openNote(utf8.encode(note), [peterKey]).text).toBe(text);
  });

  it('a bad signature from a known key rejects the note', () => {
    const bad = `${text}\n${peterSig.slice(0, 60)}ABCD${peterSig.slice(60)}`;
    expect(errorCode(() => openNote(bad, [peterKey]))).toBe('invalid_signature');
    // From an unknown key it is ignored, but then nothing verified.
    expect(errorCode(() => openNote(bad, [enochKey]))).toBe('unverified_note');
  });

  it('ignores a signature that shares only the name or only the key ID with a known key', () => {
    const sameName = ed25519SignerFromSeed('PeterNeumann', new Uint8Array(32).fill(9));
    const other = parseVerifierKey(verifierKeyString('PeterNeumann', sameName.publicKey));
    expect(errorCode(() => openNote(`${text}\n${peterSig}`, [other]))).toBe('unverified_note');
    const renamed = peterSig.replace('PeterNeumann', 'PeterNeuman');
    expect(errorCode(() => openNote(`${text}\n${renamed}`, [peterKey]))).toBe('unverified_note');
  });

  it('rejects every mangling of a verifier key', () => {
    const b = utf8.encode(peterKey);
    for (let i = 0; i <= b.length; i++) {
      for (let j = i + 1; j <= b.length; j++) {
        if (i === 0 && j === b.length) continue;
        const k = new TextDecoder().decode(b.subarray(i, j));
        expect(
          errorCode(() => parseVerifierKey(k)),
          k,
        ).toBe('malformed_key');
      }
    }
    for (let i = 0; i < b.length; i++) {
      const m = b.slice();
      m[i] = (m[i] as number) + 1;
      const k = new TextDecoder().decode(m);
      expect(
        errorCode(() => parseVerifierKey(k)),
        k,
      ).not.toBe('ok');
    }
    // Wrong key length and unknown algorithm, each with a matching key ID (reference vectors).
    expect(
      errorCode(() =>
        parseVerifierKey(
          'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==',
        ),
      ),
    ).toBe('malformed_key');
    expect(
      errorCode(() =>
        parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'),
      ),
    ).toBe('malformed_key');
    expect(errorCode(() => parseVerifierKey(peterKey.replace('c74f20a3', 'C74F20A3')))).toBe(
      'malformed_key',
    );
  });

  it('rejects malformed notes', () => {
    const bad = [
      text,
      `${text}\n`,
      `${text}\n${peterSig.slice(0, -1)}`,
      `\u0001${text}\n${peterSig}`,
      `${text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${text}\n${peterSig}Unexpected line.\n`,
      `${text}\n${peterSig}\n`,
      `${text}\n${peterSig.replace('— ', '-- ')}`,
      `${text}\n${peterSig.replace('— ', '—')}`,
      `${text}\n${peterSig.replace('PeterNeumann', 'Peter+Neumann')}`,
      `${text}\n${peterSig.replace('PeterNeumann ', 'PeterNeumann  ')}`,
      `${text}\n${peterSig.replace('=\n', '\n')}`,
      `${text}\n— PeterNeumann AAAAAA==\n`,
      `${text}\n— PeterNeumann\n`,
      `${text.replace('\n', '\r\n')}\n${peterSig}`,
      `${text}\n${peterSig.repeat(101)}`,
      `\ud800${text}\n${peterSig}`,
    ];
    for (const note of bad) {
      expect(
        errorCode(() => openNote(note, [peterKey])),
        JSON.stringify(note),
      ).toBe('malformed_note');
    }
    expect(errorCode(() => openNote(Uint8Array.of(0xff, 0x0a, 0x0a), [peterKey]))).toBe(
      'malformed_note',
    );
    // Up to 100 signatures are accepted.
    expect(openNote(`${text}\n${peterSig.repeat(100)}`, [peterKey]).verified).toHaveLength(1);
  });

  it('refuses to sign malformed text or with a bad key name', async () => {
    await expect(signNote('abc', [peterSigner])).rejects.toThrow(NoteError);
    await expect(signNote('a\u0007b\n', [peterSigner])).rejects.toThrow(NoteError);
    await expect(signNote(text, [])).rejects.toThrow(NoteError);
    const badName = ed25519SignerFromSeed('bad name', new Uint8Array(32));
    await expect(signNote(text, [badName])).rejects.toThrow(NoteError);
  });

  it('rejects ambiguous verifier sets', () => {
    const forged = { ...parseVerifierKey(peterKey), publicKey: new Uint8Array(32) };
    expect(errorCode(() => new VerifierSet([peterKey, forged]))).toBe('ambiguous_key');
    expect(() => new VerifierSet([peterKey, peterKey])).not.toThrow();
  });
});

describe('the signed-note spec example', () => {
  it('parses', () => {
    const note =
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n' +
      '— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';
    const parsed = parseNote(note);
    expect(parsed.text).toBe(
      'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
    );
    expect(parsed.signatures).toHaveLength(1);
    expect(parsed.signatures[0]?.name).toBe('quasimodo.example/salvatore');
    expect(parsed.signatures[0]?.signature).toHaveLength(64);
    expect(errorCode(() => openNote(note, [peterKey]))).toBe('unverified_note');
  });
});

describe('Ed25519 against @noble/ed25519', () => {
  it('same public keys and signatures; each verifies the other', async () => {
    for (let i = 0; i < 20; i++) {
      const seed = new Uint8Array(randomBytes(32));
      const msg = new Uint8Array(randomBytes(i * 13));
      const signer = ed25519SignerFromSeed(`k${i}`, seed);
      expect(signer.publicKey).toEqual(await noble.getPublicKeyAsync(seed));
      const ours = await signer.sign(msg);
      expect(ours).toEqual(await noble.signAsync(msg, seed));
      expect(await noble.verifyAsync(ours, msg, signer.publicKey)).toBe(true);
      expect(verifyEd25519(signer.publicKey, msg, ours)).toBe(true);
      const flipped = ours.slice();
      flipped[i % 64] = (flipped[i % 64] as number) ^ 1;
      expect(verifyEd25519(signer.publicKey, msg, flipped)).toBe(false);
      expect(await noble.verifyAsync(flipped, msg, signer.publicKey)).toBe(false);
      expect(verifyEd25519(signer.publicKey, msg, ours.subarray(1))).toBe(false);
    }
  });
});

describe('properties', () => {
  const signers = [1, 2, 3].map((i) =>
    ed25519SignerFromSeed(`example.com/log${i}`, new Uint8Array(32).fill(i)),
  );
  const keys = signers.map((s) => verifierKeyString(s.name, s.publicKey));

  const noteText = fc
    .array(
      fc
        .string({ minLength: 1, maxLength: 40 })
        .filter((l) => [...l].every((ch) => ch.charCodeAt(0) >= 0x20)),
      { minLength: 1, maxLength: 5 },
    )
    .map((lines) => lines.join('\n') + '\n')
    .filter((t) => t.isWellFormed());

  it('any signed text opens with the signed text and all signers verified', async () => {
    await fc.assert(
      fc.asyncProperty(noteText, async (t) => {
        const note = await signNote(t, signers);
        const opened = openNote(note, keys);
        expect(opened.text).toBe(t);
        expect(opened.verified.map((s) => s.name)).toEqual(signers.map((s) => s.name));
        // A verifier for only the second signer still accepts; the others are ignored.
        expect(openNote(note, [keys[1] as string]).unverified).toHaveLength(2);
      }),
      { numRuns: 50 },
    );
  });

  it('any single bit flip in the signature or the text is rejected', async () => {
    const t = 'example.com/log1\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
    const note = await signNote(t, [signers[0]!]);
    const sigLine = note.slice(t.length + 1);
    const b64 = sigLine.slice(sigLine.lastIndexOf(' ') + 1, -1);
    const raw = fromBase64(b64);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: raw.length * 8 - 1 }), (bit) => {
        const m = raw.slice();
        m[bit >> 3] = (m[bit >> 3] as number) ^ (1 << (bit & 7));
        const mangled = note.replace(b64, toBase64(m));
        expect(errorCode(() => openNote(mangled, [keys[0] as string]))).toBe(
          bit < 32 ? 'unverified_note' : 'invalid_signature',
        );
      }),
      { numRuns: 200 },
    );
    const tb = utf8.encode(t);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: tb.length * 8 - 1 }), (bit) => {
        const m = tb.slice();
        m[bit >> 3] = (m[bit >> 3] as number) ^ (1 << (bit & 7));
        const mangled = new Uint8Array([...m, ...utf8.encode(note.slice(t.length))]);
        expect(errorCode(() => openNote(mangled, [keys[0] as string]))).not.toBe('ok');
      }),
      { numRuns: 200 },
    );
  });

  it('a verifier built from a public key equals the parsed verifier key', () => {
    const v = ed25519Verifier(signers[0]!.name, signers[0]!.publicKey);
    const p = parseVerifierKey(keys[0] as string);
    expect([v.name, v.keyId, v.publicKey]).toEqual([p.name, p.keyId, p.publicKey]);
  });
});
