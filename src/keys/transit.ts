// The shapes Vault's (and OpenBao's) transit engine answers with, read into typed values, and
// the check every transit signature passes before it is used. Pure: no I/O, no Vault client.
//
// A transit ed25519 signature is `vault:v<N>:<base64 of the 64-byte RFC 8032 signature>`; the
// key's public halves are in `GET transit/keys/<key>` under `keys.<N>.public_key` (base64 of
// the 32-byte key). Nothing here ever holds private key material: transit never hands it out
// for a key that is not exportable, and a key that is exportable is refused.
import type { KeyObject } from 'node:crypto';
import { fromBase64 } from '../core/bytes.ts';
import { CodedError } from '../core/errors.ts';
import { ed25519PublicKeyObject, KeyError, verifyEd25519 } from '../core/signer.ts';

export type TransitErrorCode =
  | 'malformed_signature'
  | 'malformed_key'
  | 'wrong_key_type'
  | 'key_exportable'
  | 'unknown_version'
  | 'version_mismatch'
  | 'signature_invalid'
  | 'key_replaced';

/** A transit answer that cannot be trusted; never carries key material in its message. */
export class TransitError extends CodedError<TransitErrorCode> {
  override name = 'TransitError';
  /** The transit key concerned. */
  readonly key: string;
  constructor(code: TransitErrorCode, key: string, message: string) {
    super(code, `transit key ${key}: ${message}`);
    this.key = key;
  }
}

export interface TransitSignature {
  readonly version: number;
  /** 64 bytes. */
  readonly signature: Uint8Array;
}

const SIGNATURE_RE = /^vault:v([1-9][0-9]{0,8}):([A-Za-z0-9+/]+={0,2})$/;

/** Reads `vault:v<N>:<base64>`; the signature must decode to 64 bytes. */
export function parseTransitSignature(key: string, text: unknown): TransitSignature {
  const m = typeof text === 'string' ? SIGNATURE_RE.exec(text) : null;
  if (m === null) {
    throw new TransitError('malformed_signature', key, 'signature is not vault:v<N>:<base64>');
  }
  const signature = fromBase64(m[2] as string);
  if (signature.length !== 64) {
    throw new TransitError(
      'malformed_signature',
      key,
      `signature is ${signature.length} bytes, want 64 (Ed25519)`,
    );
  }
  return { version: Number(m[1]), signature };
}

export interface TransitKeyVersion {
  readonly version: number;
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** When Vault created this version (RFC 3339), as Vault reports it. */
  readonly createdAt: string;
}

export interface TransitKeyInfo {
  readonly name: string;
  readonly latestVersion: number;
  /** min_encryption_version: what Vault signs with when no version is asked (0 -> the latest). */
  readonly minEncryptionVersion: number;
  /**
   * Lowest version Vault signs with when one is asked for (`key_version`): min_encryption_version
   * when set, else every stored version (a 0 there only picks the latest by default).
   */
  readonly minSigningVersion: number;
  readonly minDecryptionVersion: number;
  /** Lowest version whose key material is still stored (raised by `trim`). */
  readonly minAvailableVersion: number;
  /** Every version Vault still lists, oldest first. */
  readonly versions: readonly TransitKeyVersion[];
}

function int(key: string, data: Record<string, unknown>, field: string, min: number): number {
  const v = data[field];
  if (v === undefined && min === 0) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new TransitError('malformed_key', key, `${field} is not a whole number >= ${min}`);
  }
  return v;
}

/**
 * Reads the `data` of `GET transit/keys/<key>`. Refuses a key that is not ed25519, or whose
 * private halves could leave Vault (`exportable` or `allow_plaintext_backup`).
 */
export function parseTransitKey(key: string, data: unknown): TransitKeyInfo {
  if (typeof data !== 'object' || data === null) {
    throw new TransitError('malformed_key', key, 'key read returned no data');
  }
  const d = data as Record<string, unknown>;
  if (d.type !== 'ed25519') {
    throw new TransitError('wrong_key_type', key, `key type is ${String(d.type)}, want ed25519`);
  }
  if (d.exportable === true || d.allow_plaintext_backup === true) {
    throw new TransitError(
      'key_exportable',
      key,
      'key is exportable or allows plaintext backup; a signing key must never leave Vault',
    );
  }
  const latestVersion = int(key, d, 'latest_version', 1);
  const minEncryption = int(key, d, 'min_encryption_version', 0);
  const minAvailable = int(key, d, 'min_available_version', 0);
  const keys = d.keys;
  if (typeof keys !== 'object' || keys === null) {
    throw new TransitError('malformed_key', key, 'key read lists no versions');
  }
  const versions: TransitKeyVersion[] = [];
  for (const [v, entry] of Object.entries(keys as Record<string, unknown>)) {
    const version = Number(v);
    const e = entry as { public_key?: unknown; creation_time?: unknown } | null;
    if (!/^[1-9][0-9]*$/.test(v) || typeof e?.public_key !== 'string') {
      throw new TransitError('malformed_key', key, `version ${v} has no public key`);
    }
    let publicKey: Uint8Array;
    try {
      publicKey = fromBase64(e.public_key);
      ed25519PublicKeyObject(publicKey);
    } catch (err) {
      const why = err instanceof KeyError ? err.message : 'public key is not base64';
      throw new TransitError('malformed_key', key, `version ${v}: ${why}`);
    }
    const createdAt = typeof e.creation_time === 'string' ? e.creation_time : '';
    versions.push({ version, publicKey, createdAt });
  }
  versions.sort((a, b) => a.version - b.version);
  if (versions.at(-1)?.version !== latestVersion) {
    throw new TransitError('malformed_key', key, `latest version ${latestVersion} is not listed`);
  }
  return {
    name: key,
    latestVersion,
    minEncryptionVersion: minEncryption === 0 ? latestVersion : minEncryption,
    minSigningVersion: minEncryption > 0 ? minEncryption : Math.max(1, minAvailable),
    minDecryptionVersion: int(key, d, 'min_decryption_version', 0),
    minAvailableVersion: minAvailable,
    versions,
  };
}

/** One key version whose public key is ready for verification. */
export interface VerifyingVersion {
  readonly version: number;
  readonly publicKey: Uint8Array;
  readonly keyObject: KeyObject;
}

export function verifyingVersion(v: TransitKeyVersion): VerifyingVersion {
  return {
    version: v.version,
    publicKey: v.publicKey,
    keyObject: ed25519PublicKeyObject(v.publicKey),
  };
}

/**
 * Checks a transit signature over `message` before it is used: it must come from the version
 * that was asked for and verify under that version's public key as this process knows it. A
 * key replaced in Vault (deleted and re-created under the same name) or a signature from some
 * other key fails here, never later in a verifier's hands.
 */
export function checkTransitSignature(
  key: string,
  expected: VerifyingVersion,
  message: Uint8Array,
  answer: unknown,
): Uint8Array {
  const { version, signature } = parseTransitSignature(key, answer);
  if (version !== expected.version) {
    throw new TransitError(
      'version_mismatch',
      key,
      `Vault signed with version ${version}, version ${expected.version} was asked for`,
    );
  }
  if (!verifyEd25519(expected.keyObject, message, signature)) {
    throw new TransitError(
      'signature_invalid',
      key,
      `signature does not verify under the public key of version ${version}; ` +
        'the key in Vault is not the one this process knows',
    );
  }
  return signature;
}
