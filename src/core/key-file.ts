// The Ed25519 key file format (`agdr-ed25519-keys/v1`), shared by the file signer that reads it
// and the operator that writes one into a Kubernetes Secret per shard (keys.provider: file):
//   {"format": "agdr-ed25519-keys/v1", "name": "<key name>",
//    "versions": [{"version": 1, "private_key": "<base64 32-byte seed>",
//                  "public_key": "<base64>", "created_at": "<ISO 8601>"}, ...]}
// Pure: the caller supplies the random seed and the time.
import { toBase64 } from './bytes.ts';
import { ed25519KeyFromSeed } from './signer.ts';

export const KEY_FILE_FORMAT = 'agdr-ed25519-keys/v1';

export interface KeyFileVersion {
  version: number;
  private_key: string;
  public_key: string;
  created_at: string;
}

export interface KeyFile {
  format: string;
  name: string;
  versions: KeyFileVersion[];
}

/** One key version from a 32-byte seed. */
export function keyFileVersion(version: number, seed: Uint8Array, createdAt: Date): KeyFileVersion {
  const { publicKey } = ed25519KeyFromSeed(seed);
  return {
    version,
    private_key: toBase64(seed),
    public_key: toBase64(publicKey),
    created_at: createdAt.toISOString(),
  };
}

/** A new key file holding one version. */
export function newKeyFile(name: string, seed: Uint8Array, createdAt: Date): KeyFile {
  return { format: KEY_FILE_FORMAT, name, versions: [keyFileVersion(1, seed, createdAt)] };
}
