// A local, file-backed Ed25519 signer for the embedded default (`agdr local`) and tests.
//
// The key file is JSON (format in core/key-file.ts), created with mode 0600 and never rewritten
// in place. Group read is accepted too (0640, 0440): that is how Kubernetes mounts a Secret for
// a pod with an fsGroup, the group being the pod's own.
// The newest version signs; every version's public key stays published so checkpoints signed
// before a rotation still verify. Key material never appears in errors or logs.
import { FieldError } from '../core/errors.ts';
import { randomBytes } from 'node:crypto';
import { link, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { bytesEqual, fromBase64 } from '../core/bytes.ts';
import { KEY_FILE_FORMAT as FORMAT, keyFileVersion } from '../core/key-file.ts';
import type { KeyFile, KeyFileVersion } from '../core/key-file.ts';
import { ed25519SignerFromSeed, type Signer } from '../core/signer.ts';
import { replaceFile, syncDir, writeTemp } from './durable-file.ts';
import type { VersionedSigner } from './versioned-signer.ts';

export type KeyFileErrorCode = 'malformed_key_file' | 'insecure_permissions' | 'name_mismatch';

export class KeyFileError extends FieldError<KeyFileErrorCode> {
  override name = 'KeyFileError';
}

export interface PublicKeyVersion {
  readonly keyVersion: number;
  readonly publicKey: Uint8Array;
}

/** Every version of the file can sign; the newest signs until told otherwise (useVersion). */
export interface FileSigner extends VersionedSigner {
  /** Every version's public key, oldest first. */
  readonly versions: readonly PublicKeyVersion[];
}

interface LoadedVersion {
  keyVersion: number;
  seed: Uint8Array;
  publicKey: Uint8Array;
}

function newVersion(version: number, now: Date): KeyFileVersion {
  return keyFileVersion(version, new Uint8Array(randomBytes(32)), now);
}

// Validates the parsed file without echoing any of its content.
interface LoadedKeyFile {
  name: string;
  versions: LoadedVersion[];
  doc: KeyFile;
}

function decode(file: string, raw: string): LoadedKeyFile {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new KeyFileError('malformed_key_file', file, 'not valid JSON');
  }
  const bad = (what: string): KeyFileError => new KeyFileError('malformed_key_file', file, what);
  const d = doc as Partial<KeyFile> | null;
  if (typeof d !== 'object' || d === null || d.format !== FORMAT)
    throw bad(`format is not ${FORMAT}`);
  if (typeof d.name !== 'string' || d.name.length === 0) throw bad('missing key name');
  if (!Array.isArray(d.versions) || d.versions.length === 0) throw bad('no key versions');
  const versions = d.versions.map((v: Partial<KeyFileVersion>, i) => {
    if (v.version !== i + 1) throw bad(`versions[${i}].version must be ${i + 1}`);
    let seed: Uint8Array;
    let publicKey: Uint8Array;
    try {
      seed = fromBase64(String(v.private_key));
      publicKey = fromBase64(String(v.public_key));
    } catch {
      throw bad(`versions[${i}] has invalid base64`);
    }
    if (seed.length !== 32) throw bad(`versions[${i}].private_key must be 32 bytes`);
    if (!bytesEqual(ed25519SignerFromSeed('k', seed).publicKey, publicKey)) {
      throw bad(`versions[${i}].public_key does not match its private key`);
    }
    return { keyVersion: i + 1, seed, publicKey };
  });
  return { name: d.name, versions, doc: d as KeyFile };
}

function signerOf(name: string, versions: readonly LoadedVersion[]): FileSigner {
  const signers = new Map<number, Signer>(
    versions.map((v) => [v.keyVersion, ed25519SignerFromSeed(name, v.seed, v.keyVersion)]),
  );
  const versionSigner = (version: number): Signer => {
    const s = signers.get(version);
    if (s === undefined) throw new Error(`key ${name} has no version ${version}`);
    return s;
  };
  let inUse = versionSigner((versions[versions.length - 1] as LoadedVersion).keyVersion);
  return {
    name,
    get publicKey() {
      return inUse.publicKey;
    },
    get keyVersion() {
      return inUse.keyVersion;
    },
    versions: versions.map((v) => ({ keyVersion: v.keyVersion, publicKey: v.publicKey.slice() })),
    activeVersion: (versions[versions.length - 1] as LoadedVersion).keyVersion,
    sign: (message) => inUse.sign(message),
    canSignWith: (version) => signers.has(version),
    signWithVersion: (version, message) => versionSigner(version).sign(message),
    useVersion: (version) => {
      inUse = versionSigner(version);
    },
  };
}

async function readKeyFile(file: string): Promise<LoadedKeyFile> {
  const st = await stat(file);
  if ((st.mode & 0o037) !== 0) {
    throw new KeyFileError(
      'insecure_permissions',
      file,
      `mode ${(st.mode & 0o777).toString(8)} gives others access; want 600 (or 640)`,
    );
  }
  return decode(file, await readFile(file, 'utf8'));
}

/** The key file's text, written to a fresh 0600 temporary file beside it (fsynced). */
function writeKeyTemp(file: string, doc: KeyFile): Promise<string> {
  return writeTemp(file, JSON.stringify(doc, null, 2) + '\n', 0o600);
}

/**
 * Loads the key file at `file`, or creates it with one fresh key if it does not exist. Creation
 * is atomic: a complete file appears under its name or nothing does, and of two processes
 * racing to create it both end up with the same key.
 */
export async function loadOrCreateFileSigner(
  file: string,
  name: string,
  now: () => Date = () => new Date(),
): Promise<FileSigner> {
  try {
    return checkedSigner(file, name, await readKeyFile(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const tmp = await writeKeyTemp(file, {
    format: FORMAT,
    name,
    versions: [newVersion(1, now())],
  });
  try {
    await link(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    await unlink(tmp);
  }
  await syncDir(path.dirname(file));
  return checkedSigner(file, name, await readKeyFile(file));
}

function checkedSigner(file: string, name: string, loaded: LoadedKeyFile): FileSigner {
  if (loaded.name !== name) {
    throw new KeyFileError('name_mismatch', file, `key is named '${loaded.name}', want '${name}'`);
  }
  return signerOf(loaded.name, loaded.versions);
}

/** Adds a new key version to an existing key file (atomic replace) and returns the new signer. */
export async function rotateFileKey(
  file: string,
  now: () => Date = () => new Date(),
): Promise<FileSigner> {
  const { doc } = await readKeyFile(file);
  doc.versions.push(newVersion(doc.versions.length + 1, now()));
  await replaceFile(file, JSON.stringify(doc, null, 2) + '\n', 0o600);
  const loaded = await readKeyFile(file);
  return signerOf(loaded.name, loaded.versions);
}
