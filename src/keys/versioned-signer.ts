// A signer whose key has versions (a Vault transit key, a rotated key file): besides signing
// with the version in use, it can sign with another version it still holds and be told which
// version to use. The key history (key-history-file.ts) needs both: a rotation is recorded by
// signing a transition with the old and the new version before the new one takes over.
import type { Signer } from '../core/signer.ts';
import type { PublicKeyVersion } from './file-signer.ts';

export interface VersionedSigner extends Signer {
  /** Every version the key service lists, oldest first (trimmed versions are gone). */
  readonly versions: readonly PublicKeyVersion[];
  /**
   * The version the key service has sign now when not held back: the newest one that may sign
   * (for Vault, also old enough by `--vault-key-activation`).
   */
  readonly activeVersion: number;
  /** False when the key service will not sign with `version` (trimmed, or below its minimum). */
  canSignWith(version: number): boolean;
  /** An Ed25519 signature by `version` (listed, not necessarily the one in use). */
  signWithVersion(version: number, message: Uint8Array): Promise<Uint8Array>;
  /** Signs with `version` from now on (it must be listed). */
  useVersion(version: number): void;
  /** Re-reads the versions from the key service, if it has any to re-read. */
  refresh?(): Promise<void>;
}

export function isVersionedSigner(signer: Signer): signer is VersionedSigner {
  const s = signer as Partial<VersionedSigner>;
  return (
    Array.isArray(s.versions) &&
    typeof s.activeVersion === 'number' &&
    typeof s.canSignWith === 'function' &&
    typeof s.signWithVersion === 'function' &&
    typeof s.useVersion === 'function'
  );
}

/** A Signer pinned to one listed version of a versioned signer (for a key transition). */
export function pinnedVersion(signer: VersionedSigner, version: number): Signer {
  const v = signer.versions.find((x) => x.keyVersion === version);
  if (v === undefined) throw new Error(`key ${signer.name} has no version ${version}`);
  return {
    name: signer.name,
    publicKey: v.publicKey,
    keyVersion: version,
    sign: (message) => signer.signWithVersion(version, message),
  };
}
