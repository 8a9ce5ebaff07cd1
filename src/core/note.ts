// C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures (type 0x01):
//
//   <text, ending in a newline>
//   <empty line>
//   — <key name> base64(key ID || signature)      (one line per signature, U+2014 U+0020)
//
// key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4], big-endian uint32.
// A verifier key is written `<name>+<key ID, 8 lowercase hex>+base64(0x01 || public key)`.
import { CodedError } from './errors.ts';
import type { KeyObject } from 'node:crypto';
import { concatBytes, fromBase64, toBase64, toHex, utf8 } from './bytes.ts';
import { sha256 } from './hash.ts';
import { ed25519PublicKeyObject, verifyEd25519, type Signer } from './signer.ts';

export type NoteErrorCode =
  | 'malformed_note' // syntax: not a signed note
  | 'malformed_key' // a verifier key string or key name is invalid
  | 'ambiguous_key' // two different verifier keys share name and key ID
  | 'invalid_signature' // a signature from a known key does not verify
  | 'unverified_note'; // no signature from a known key

export class NoteError extends CodedError<NoteErrorCode> {
  override name = 'NoteError';
}

/** Signature type byte of Ed25519 in signed notes. */
export const ED25519_SIGNATURE_TYPE = 0x01;
/** Signature lines accepted per note (the spec requires at least 16). */
export const MAX_NOTE_SIGNATURES = 100;
const SIGNATURE_PREFIX = '\u2014 ';

export interface NoteSignature {
  readonly name: string;
  /** Big-endian uint32 from the first four signature bytes. */
  readonly keyId: number;
  /** The signature bytes after the key ID. */
  readonly signature: Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface OpenedNote {
  /** The signed text, final newline included. */
  readonly text: string;
  /** Signatures from known keys, all verified (one per key). */
  readonly verified: readonly NoteSignature[];
  /** Signatures from keys not in the verifier set, not checked. */
  readonly unverified: readonly NoteSignature[];
}

/** Key names are non-empty, without Unicode spaces or '+'. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && name.isWellFormed() && !/[\s+]/u.test(name) && !hasControl(name);
}

function hasControl(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0009\u000b-\u001f]/.test(text);
}

function checkName(name: string): void {
  if (!isValidKeyName(name)) throw new NoteError('malformed_key', `invalid key name '${name}'`);
}

/** The signed-note key ID of an Ed25519 key. */
export function keyId(name: string, publicKey: Uint8Array): number {
  checkName(name);
  const h = sha256.digest(
    concatBytes(utf8.encode(name), Uint8Array.of(0x0a, ED25519_SIGNATURE_TYPE), publicKey),
  );
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0);
}

function keyIdHex(id: number): string {
  return id.toString(16).padStart(8, '0');
}

/** The verifier key string `<name>+<hex key ID>+<base64(0x01 || public key)>`. */
export function verifierKeyString(name: string, publicKey: Uint8Array): string {
  if (publicKey.length !== 32)
    throw new NoteError('malformed_key', 'Ed25519 public key must be 32 bytes');
  return `${name}+${keyIdHex(keyId(name, publicKey))}+${toBase64(concatBytes(Uint8Array.of(ED25519_SIGNATURE_TYPE), publicKey))}`;
}

/** A verifier for an Ed25519 public key under a key name. */
export function ed25519Verifier(name: string, publicKey: Uint8Array): NoteVerifier {
  const id = keyId(name, publicKey);
  let keyObject: KeyObject;
  try {
    keyObject = ed25519PublicKeyObject(publicKey);
  } catch (e) {
    throw new NoteError('malformed_key', (e as Error).message);
  }
  const pub = publicKey.slice();
  return {
    name,
    keyId: id,
    publicKey: pub,
    verify: (text, signature) => verifyEd25519(keyObject, text, signature),
  };
}

/** Parses a verifier key string strictly: exact syntax, Ed25519 type, matching key ID. */
export function parseVerifierKey(key: string): NoteVerifier {
  // The base64 key may itself contain '+'; the name and key ID cannot.
  const first = key.indexOf('+');
  const second = first < 0 ? -1 : key.indexOf('+', first + 1);
  if (second < 0) throw new NoteError('malformed_key', 'verifier key must be name+keyid+key');
  const name = key.slice(0, first);
  const idHex = key.slice(first + 1, second);
  const keyB64 = key.slice(second + 1);
  checkName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex))
    throw new NoteError('malformed_key', 'key ID must be 8 lowercase hex digits');
  let raw: Uint8Array;
  try {
    raw = fromBase64(keyB64);
  } catch {
    throw new NoteError('malformed_key', 'key is not valid base64');
  }
  if (raw.length !== 33 || raw[0] !== ED25519_SIGNATURE_TYPE) {
    throw new NoteError(
      'malformed_key',
      'key must be 0x01 followed by a 32-byte Ed25519 public key',
    );
  }
  const verifier = ed25519Verifier(name, raw.subarray(1));
  if (keyIdHex(verifier.keyId) !== idHex)
    throw new NoteError('malformed_key', 'key ID does not match the key');
  return verifier;
}

/** Note text: valid UTF-8, no control characters but newline, ending in a newline. */
function checkText(text: string): void {
  if (!text.isWellFormed() || hasControl(text) || !text.endsWith('\n')) {
    throw new NoteError(
      'malformed_note',
      'note text must be UTF-8 without control characters, ending in a newline',
    );
  }
}

function formatSignature(s: NoteSignature): string {
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, s.keyId);
  return `${SIGNATURE_PREFIX}${s.name} ${toBase64(concatBytes(id, s.signature))}\n`;
}

/** Signs `text` with every signer, in order, and returns the signed note. */
export async function signNote(text: string, signers: readonly Signer[]): Promise<string> {
  checkText(text);
  if (signers.length === 0)
    throw new NoteError('malformed_note', 'a signed note needs a signature');
  const bytes = utf8.encode(text);
  let out = `${text}\n`;
  for (const signer of signers) {
    const id = keyId(signer.name, signer.publicKey);
    const signature = await signer.sign(bytes);
    if (signature.length !== 64)
      throw new NoteError('invalid_signature', 'signer returned a non-Ed25519 signature');
    out += formatSignature({ name: signer.name, keyId: id, signature });
  }
  return out;
}

/** Splits a signed note into text and signatures, strictly, without verifying anything. */
export function parseNote(note: string | Uint8Array): {
  text: string;
  signatures: NoteSignature[];
} {
  let s: string;
  if (typeof note === 'string') {
    s = note;
  } else {
    try {
      s = utf8.decode(note);
    } catch {
      throw new NoteError('malformed_note', 'note is not valid UTF-8');
    }
  }
  if (!s.isWellFormed() || hasControl(s)) {
    throw new NoteError(
      'malformed_note',
      'note must be UTF-8 without control characters but newline',
    );
  }
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed_note', 'note has no signature block');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) {
    throw new NoteError(
      'malformed_note',
      'signature block must be non-empty lines ending in newline',
    );
  }
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES)
    throw new NoteError('malformed_note', 'too many signatures');
  const signatures = lines.map((line) => {
    if (!line.startsWith(SIGNATURE_PREFIX))
      throw new NoteError(
        'malformed_note',
        'signature line must start with an em dash and a space',
      );
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0)
      throw new NoteError('malformed_note', 'signature line needs a name and a signature');
    const name = rest.slice(0, space);
    if (!isValidKeyName(name))
      throw new NoteError('malformed_note', 'invalid key name in signature line');
    let raw: Uint8Array;
    try {
      raw = fromBase64(rest.slice(space + 1));
    } catch {
      throw new NoteError('malformed_note', 'signature is not valid base64');
    }
    if (raw.length < 5) throw new NoteError('malformed_note', 'signature too short');
    return {
      name,
      keyId: new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0),
      signature: raw.slice(4),
    };
  });
  return { text, signatures };
}

/** Verifier keys indexed by (name, key ID); rejects two different keys with the same pair. */
export class VerifierSet {
  readonly #byId = new Map<string, NoteVerifier>();

  constructor(verifiers: Iterable<NoteVerifier | string>) {
    for (const v of verifiers) {
      const verifier = typeof v === 'string' ? parseVerifierKey(v) : v;
      const k = `${verifier.name}+${keyIdHex(verifier.keyId)}`;
      const prev = this.#byId.get(k);
      if (prev !== undefined && toHex(prev.publicKey) !== toHex(verifier.publicKey)) {
        throw new NoteError('ambiguous_key', `two keys named ${k}`);
      }
      this.#byId.set(k, verifier);
    }
  }

  get(name: string, id: number): NoteVerifier | undefined {
    return this.#byId.get(`${name}+${keyIdHex(id)}`);
  }
}

/**
 * Parses and verifies a signed note. Signatures from unknown keys are ignored (kept as
 * `unverified`); a signature from a known key that fails rejects the whole note; at least one
 * known key must have signed.
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: VerifierSet | Iterable<NoteVerifier | string>,
): OpenedNote {
  const set = verifiers instanceof VerifierSet ? verifiers : new VerifierSet(verifiers);
  const { text, signatures } = parseNote(note);
  const bytes = utf8.encode(text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    const v = set.get(sig.name, sig.keyId);
    if (v === undefined) {
      unverified.push(sig);
      continue;
    }
    if (!v.verify(bytes, sig.signature)) {
      throw new NoteError(
        'invalid_signature',
        `invalid signature for key ${sig.name}+${keyIdHex(sig.keyId)}`,
      );
    }
    const k = `${sig.name}+${sig.keyId}`;
    if (!seen.has(k)) {
      seen.add(k);
      verified.push(sig);
    }
  }
  if (verified.length === 0)
    throw new NoteError('unverified_note', 'note has no signature from a known key');
  return { text, verified, unverified };
}
