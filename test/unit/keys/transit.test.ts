// The transit answer parsers and the check every Vault signature passes, with RFC 8032's
// published Ed25519 vectors (section 7.1, tests 1 and 2) standing in for Vault's answers.
import * as noble from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import { fromHex, toBase64 } from '../../../src/core/bytes.ts';
import { signingVersionOf } from '../../../src/keys/vault-signer.ts';
import {
  checkTransitSignature,
  parseTransitKey,
  parseTransitSignature,
  TransitError,
  verifyingVersion,
} from '../../../src/keys/transit.ts';

const T1 = {
  publicKey: fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'),
  message: new Uint8Array(0),
  signature: fromHex(
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  ),
};
const T2 = {
  publicKey: fromHex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'),
  message: fromHex('72'),
  signature: fromHex(
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  ),
};
const KEY = 'agdr_ns_c_shard-0';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof TransitError) return e.code;
    throw e;
  }
  return 'no error';
}

const keyRead = (over: Record<string, unknown> = {}) => ({
  type: 'ed25519',
  exportable: false,
  allow_plaintext_backup: false,
  latest_version: 2,
  min_decryption_version: 1,
  min_encryption_version: 0,
  min_available_version: 0,
  keys: {
    '2': { public_key: toBase64(T2.publicKey), creation_time: '2026-12-06T10:00:00Z' },
    '1': { public_key: toBase64(T1.publicKey), creation_time: '2026-12-01T10:00:00Z' },
  },
  ...over,
});

describe('transit signatures', () => {
  it('the vectors hold under an independent implementation (@noble/ed25519)', async () => {
    expect(await noble.verifyAsync(T1.signature, T1.message, T1.publicKey)).toBe(true);
    expect(await noble.verifyAsync(T2.signature, T2.message, T2.publicKey)).toBe(true);
  });

  it('reads vault:vN:<base64> into a version and 64 signature bytes', () => {
    const s = parseTransitSignature(KEY, `vault:v12:${toBase64(T1.signature)}`);
    expect(s.version).toBe(12);
    expect(s.signature).toEqual(T1.signature);
  });

  it.each([
    ['no prefix', toBase64(T1.signature)],
    ['version 0', `vault:v0:${toBase64(T1.signature)}`],
    ['no version', `vault:v:${toBase64(T1.signature)}`],
    ['short signature', `vault:v1:${toBase64(T1.signature.subarray(0, 63))}`],
    ['not base64', 'vault:v1:!!!!'],
    ['not a string', 42],
  ])('refuses %s', (_what, text) => {
    expect(code(() => parseTransitSignature(KEY, text))).toBe('malformed_signature');
  });

  it('passes a signature of the version asked for that verifies under its public key', () => {
    const v1 = verifyingVersion({ version: 1, publicKey: T1.publicKey, createdAt: '' });
    const sig = checkTransitSignature(KEY, v1, T1.message, `vault:v1:${toBase64(T1.signature)}`);
    expect(sig).toEqual(T1.signature);
  });

  it('fails loudly for another version, a swapped key, or a changed message', () => {
    const v1 = verifyingVersion({ version: 1, publicKey: T1.publicKey, createdAt: '' });
    const v2 = verifyingVersion({ version: 2, publicKey: T2.publicKey, createdAt: '' });
    const answer = `vault:v1:${toBase64(T1.signature)}`;
    expect(code(() => checkTransitSignature(KEY, v2, T1.message, answer))).toBe('version_mismatch');
    // Vault signed with a key other than the one this process knows as version 1.
    const swapped = verifyingVersion({ version: 1, publicKey: T2.publicKey, createdAt: '' });
    expect(code(() => checkTransitSignature(KEY, swapped, T1.message, answer))).toBe(
      'signature_invalid',
    );
    expect(code(() => checkTransitSignature(KEY, v1, T2.message, answer))).toBe(
      'signature_invalid',
    );
  });
});

describe('transit key reads', () => {
  it('lists every version oldest first, with min versions (0 encryption = latest)', () => {
    const info = parseTransitKey(KEY, keyRead());
    expect(info.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(info.versions[1]?.publicKey).toEqual(T2.publicKey);
    expect(info.versions[0]?.createdAt).toBe('2026-12-01T10:00:00Z');
    expect([info.latestVersion, info.minEncryptionVersion, info.minDecryptionVersion]).toEqual([
      2, 2, 1,
    ]);
    expect(parseTransitKey(KEY, keyRead({ min_encryption_version: 1 })).minEncryptionVersion).toBe(
      1,
    );
    // A pinned key_version may be any stored version until min_encryption_version is raised.
    expect(info.minSigningVersion).toBe(1);
    const raised = keyRead({ min_encryption_version: 2, min_available_version: 2 });
    expect(parseTransitKey(KEY, raised).minSigningVersion).toBe(2);
    expect(parseTransitKey(KEY, keyRead({ min_available_version: 2 })).minSigningVersion).toBe(2);
  });

  it('refuses keys whose private half could leave Vault, and other key types', () => {
    expect(code(() => parseTransitKey(KEY, keyRead({ exportable: true })))).toBe('key_exportable');
    expect(code(() => parseTransitKey(KEY, keyRead({ allow_plaintext_backup: true })))).toBe(
      'key_exportable',
    );
    expect(code(() => parseTransitKey(KEY, keyRead({ type: 'ecdsa-p256' })))).toBe(
      'wrong_key_type',
    );
  });

  it('refuses malformed reads without echoing their content', () => {
    expect(code(() => parseTransitKey(KEY, null))).toBe('malformed_key');
    expect(code(() => parseTransitKey(KEY, keyRead({ latest_version: 3 })))).toBe('malformed_key');
    expect(code(() => parseTransitKey(KEY, keyRead({ keys: { '1': {} } })))).toBe('malformed_key');
    const short = { '2': { public_key: toBase64(T2.publicKey.subarray(1)) } };
    let message = '';
    try {
      parseTransitKey(KEY, keyRead({ keys: short }));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('version 2');
    expect(message).not.toContain(toBase64(T2.publicKey.subarray(1)));
  });
});

describe('signingVersionOf', () => {
  const key = (created: string[], minEncryption = 1) => ({
    name: 'k',
    latestVersion: created.length,
    minEncryptionVersion: minEncryption,
    minSigningVersion: minEncryption,
    minDecryptionVersion: 0,
    minAvailableVersion: 1,
    versions: created.map((c, i) => ({
      version: i + 1,
      publicKey: new Uint8Array(32).fill(i + 1),
      createdAt: c,
    })),
  });
  const NOW = Date.parse('2026-12-06T12:00:00Z');

  it('signs with the newest version old enough, else the oldest allowed', () => {
    const k = key(['2026-12-06T10:00:00Z', '2026-12-06T11:59:00Z', '2026-12-06T11:59:50Z']);
    expect(signingVersionOf(k, 0, NOW).version).toBe(3);
    expect(signingVersionOf(k, 30_000, NOW).version).toBe(2);
    expect(signingVersionOf(k, 120_000, NOW).version).toBe(1);
    // Version 1 no longer allowed (trimmed): the oldest allowed, even if new.
    expect(signingVersionOf({ ...k, minSigningVersion: 2 }, 3_600_000, NOW).version).toBe(2);
  });
});
