// Ed25519 signing behind one small interface, so a checkpoint can be signed by a local key file
// or by a remote service (Vault/OpenBao transit) alike. Verification and in-memory signing use
// node:crypto (pure computation, several times faster than a JS implementation); tests check
// both against @noble/ed25519.
import { CodedError } from './errors.ts';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { concatBytes, fromHex } from './bytes.ts';

export interface Signer {
  /** The key name used in signed-note signature lines (for a log: its origin). */
  readonly name: string;
  /** The 32-byte Ed25519 public key (RFC 8032 encoding) of the version that signs. */
  readonly publicKey: Uint8Array;
  /** Version of the key that signs; rotation adds versions. */
  readonly keyVersion: number;
  /** An Ed25519 signature (64 bytes) over exactly `message`. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export type KeyErrorCode = 'bad_public_key' | 'bad_private_key';

export class KeyError extends CodedError<KeyErrorCode> {
  override name = 'KeyError';
}

// DER prefixes that wrap a raw 32-byte Ed25519 key as SPKI (public) and PKCS#8 (private).
const SPKI_PREFIX = fromHex('302a300506032b6570032100');
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420');

/** A node:crypto public key for a raw Ed25519 public key; build once, verify many times. */
export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) {
    throw new KeyError(
      'bad_public_key',
      `Ed25519 public key is ${publicKey.length} bytes, want 32`,
    );
  }
  try {
    return createPublicKey({
      key: Buffer.from(concatBytes(SPKI_PREFIX, publicKey)),
      format: 'der',
      type: 'spki',
    });
  } catch (e) {
    throw new KeyError('bad_public_key', `invalid Ed25519 public key: ${(e as Error).message}`);
  }
}

/** Verifies an Ed25519 signature; false (never a throw) for a wrong-length signature. */
export function verifyEd25519(
  publicKey: KeyObject | Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 64) return false;
  const key = publicKey instanceof Uint8Array ? ed25519PublicKeyObject(publicKey) : publicKey;
  return verify(null, message, key, signature);
}

/** The Ed25519 key pair of a 32-byte RFC 8032 private key (seed). */
export function ed25519KeyFromSeed(seed: Uint8Array): {
  privateKey: KeyObject;
  publicKey: Uint8Array;
} {
  if (seed.length !== 32) {
    throw new KeyError('bad_private_key', `Ed25519 private key is ${seed.length} bytes, want 32`);
  }
  const privateKey = createPrivateKey({
    key: Buffer.from(concatBytes(PKCS8_PREFIX, seed)),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)) };
}

/** A Signer over an in-memory Ed25519 private key (seed). */
export function ed25519SignerFromSeed(name: string, seed: Uint8Array, keyVersion = 1): Signer {
  const { privateKey, publicKey } = ed25519KeyFromSeed(seed);
  return {
    name,
    publicKey,
    keyVersion,
    sign: (message) => Promise.resolve(new Uint8Array(sign(null, message, privateKey))),
  };
}
