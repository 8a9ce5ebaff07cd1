// Applies a cluster's Vault key plan (vault-plan.ts) and rotates and trims its keys: the one
// module of key provisioning that talks to Vault. Every step is idempotent (creating a transit
// key that exists leaves it as it is), so a reconcile may run it again at any time.
import { parseTransitKey, TransitError, type TransitKeyInfo } from './transit.ts';
import type { VaultSession } from './vault-client.ts';
import { trimPlan, type SignerKeyPlan, type TrimPlan } from './vault-plan.ts';

/** Creates the transit key, then its policy and role; returns the key as Vault reports it. */
export async function applySignerKeyPlan(
  session: VaultSession,
  plan: SignerKeyPlan,
): Promise<TransitKeyInfo> {
  await session.write(plan.keyPath, plan.keyBody);
  // A key that already existed keeps its settings: refuse one whose private half could leave
  // Vault before any pod is allowed to sign with it.
  const info = await readTransitKey(session, plan.keyPath, plan.name);
  await session.write(plan.policyPath, { policy: plan.policy });
  await session.write(plan.rolePath, plan.role);
  return info;
}

export async function readTransitKey(
  session: VaultSession,
  keyPath: string,
  name: string,
): Promise<TransitKeyInfo> {
  return parseTransitKey(name, (await session.read(keyPath)).data);
}

/** Adds a new version to the key (Vault signs with it from now on); returns the key after. */
export async function rotateTransitKey(
  session: VaultSession,
  keyPath: string,
  name: string,
): Promise<TransitKeyInfo> {
  const before = await readTransitKey(session, keyPath, name);
  await session.write(`${keyPath}/rotate`);
  const after = await readTransitKey(session, keyPath, name);
  if (after.latestVersion <= before.latestVersion) {
    throw new TransitError('unknown_version', name, 'rotation did not add a version');
  }
  return after;
}

/**
 * Keeps the newest `retainVersions` versions and deletes the older ones for good: first no
 * signing or verifying with them (min_encryption_version, min_decryption_version), then `trim`.
 * Trim deletes their public halves as well: the result lists them, and the caller must have
 * published them (trust bundle, key history) before calling. Undefined if nothing was trimmed.
 */
export async function trimTransitKey(
  session: VaultSession,
  keyPath: string,
  name: string,
  retainVersions: number,
): Promise<TrimPlan | undefined> {
  const plan = trimPlan(await readTransitKey(session, keyPath, name), retainVersions);
  if (plan === undefined) return undefined;
  await trimTransitKeyTo(session, keyPath, plan.minVersion);
  return plan;
}

/**
 * Deletes every version below `minVersion` (which the caller has published): Vault refuses to
 * sign with them from the first write on, and their key material is gone after the second.
 */
export async function trimTransitKeyTo(
  session: VaultSession,
  keyPath: string,
  minVersion: number,
): Promise<void> {
  await session.write(`${keyPath}/config`, {
    min_decryption_version: minVersion,
    min_encryption_version: minVersion,
  });
  await session.write(`${keyPath}/trim`, { min_available_version: minVersion });
}
