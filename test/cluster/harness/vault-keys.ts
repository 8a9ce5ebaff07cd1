// What the Vault key tests read back: the verifier key of a transit key's version as Vault
// reports it, and the projected Vault token a pod holds (its file under the pod runner's root).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { V1Pod } from '@kubernetes/client-node';

import { verifierKeyString } from '../../../src/core/note.ts';
import type { TransitKeyInfo } from '../../../src/keys/transit.ts';
import { VAULT_TOKEN_DIR, VAULT_TOKEN_FILE } from '../../../src/operator/specs/vault-signer.ts';
import { podRootDir } from './context.ts';

/** The verifier key of `version` of a signer's key as Vault reports it. */
export function verifierOf(key: TransitKeyInfo, origin: string, version: number): string {
  const v = key.versions.find((x) => x.version === version);
  if (v === undefined) throw new Error(`${key.name} has no version ${version}`);
  return verifierKeyString(origin, v.publicKey);
}

/** The projected Vault token a pod holds, read through its mount; none when it has no such mount. */
export function projectedVaultTokens(p: V1Pod): string[] {
  try {
    return [readFileSync(join(podRootDir(p), VAULT_TOKEN_DIR, VAULT_TOKEN_FILE), 'utf8').trim()];
  } catch {
    return [];
  }
}
