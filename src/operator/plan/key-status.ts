// Pure status planning of Vault keys: the KeysReady, KeyRotated and VaultUnavailable conditions,
// `status.keys`, and the Events of what happened to the keys this reconcile.
import type { AgDRCondition, AgDRKeysStatus } from '../types.ts';
import { findCondition, rfc3339 } from './conditions.ts';
import type { ConditionType, ConditionValue } from './conditions.ts';
import type { TrimWait } from './keys.ts';
import type { KeysObservation } from './observation.ts';

/** CamelCase Event reasons the key planning records. */
export interface KeyEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly note: string;
}

export type KeyConditionType = Extract<
  ConditionType,
  'KeysReady' | 'KeyRotated' | 'VaultUnavailable'
>;
export const KEY_CONDITION_TYPES: readonly KeyConditionType[] = [
  'KeysReady',
  'KeyRotated',
  'VaultUnavailable',
];

function keysReady(k: KeysObservation): ConditionValue {
  if (k.conflicts.length > 0) {
    const c = k.conflicts.map((x) => `${x.origin} v${x.keyVersion}`).join(', ');
    return {
      status: 'False',
      reason: 'KeyReplaced',
      message:
        `Vault lists a different public key than the trust bundle for ${c}: the transit key was ` +
        'replaced; the published key is kept, nothing is trimmed (docs/KEYS.md)',
    };
  }
  if (k.readyForShards >= k.wantedShards && k.coordinatorReady) {
    return {
      status: 'True',
      reason: 'KeysProvisioned',
      message: `keys for ${k.readyForShards} shards and the coordinator are in Vault and published`,
    };
  }
  const missing = `keys published for ${k.readyForShards} of ${k.wantedShards} shards${k.coordinatorReady ? '' : ', not for the coordinator'}`;
  return k.vaultError !== undefined
    ? {
        status: 'False',
        reason: 'VaultUnavailable',
        message: `${missing}; Vault: ${k.vaultError.message}`,
      }
    : { status: 'False', reason: 'Provisioning', message: missing };
}

/** Trims listed by name in the KeyRotated message; more are counted. */
const WAITS_LISTED = 3;

/**
 * Which trims wait for which signer, for the KeyRotated message and the KeyTrimWaiting Event;
 * empty when none waits.
 */
export function trimWaitText(waits: readonly TrimWait[]): string {
  if (waits.length === 0) return '';
  const one = (w: TrimWait): string =>
    `${w.key}: versions below ${w.keepFrom} are trimmed once ${w.origin}'s latest checkpoint is ` +
    `signed by version ${w.keepFrom} or later (now: ` +
    `${'version' in w.latest ? `version ${w.latest.version}` : w.latest.unknown})`;
  const listed = waits.slice(0, WAITS_LISTED).map(one).join('; ');
  const more = waits.length > WAITS_LISTED ? `; and ${waits.length - WAITS_LISTED} more` : '';
  return `trims wait for their signers: ${listed}${more}`;
}

function keyRotated(k: KeysObservation): ConditionValue {
  const waiting = trimWaitText(k.trimWaits);
  const next =
    (k.nextRotation !== undefined ? `; next rotation due ${rfc3339(k.nextRotation)}` : '') +
    (waiting !== '' ? `; ${waiting}` : '');
  if (k.lastRotation === undefined && k.vaultError !== undefined) {
    return {
      status: 'Unknown',
      reason: 'VaultUnavailable',
      message: 'the keys could not be read from Vault',
    };
  }
  if (k.lastRotation === undefined) {
    return {
      status: 'False',
      reason: 'NotRotatedYet',
      message: `no key has a second version yet${next}`,
    };
  }
  return {
    status: 'True',
    reason: 'Rotated',
    message: `last rotation ${rfc3339(k.lastRotation)}${next}`,
  };
}

function vaultUnavailable(k: KeysObservation): ConditionValue {
  return k.vaultError !== undefined
    ? { status: 'True', reason: reasonOfCode(k.vaultError.code), message: k.vaultError.message }
    : { status: 'False', reason: 'VaultReachable', message: 'the last Vault request succeeded' };
}

/** `vault_unreachable` -> `VaultUnreachable`: a condition reason is CamelCase. */
export function reasonOfCode(code: string): string {
  const camel = code
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  return /^[A-Za-z]/.test(camel) ? camel : 'VaultError';
}

export function keyConditionValues(k: KeysObservation): Record<KeyConditionType, ConditionValue> {
  return {
    KeysReady: keysReady(k),
    KeyRotated: keyRotated(k),
    VaultUnavailable: vaultUnavailable(k),
  };
}

export function keysStatus(k: KeysObservation): AgDRKeysStatus {
  return {
    provider: 'vault',
    readyForShards: k.readyForShards,
    ...(k.coordinatorKeyVersion !== undefined
      ? { coordinatorKeyVersion: k.coordinatorKeyVersion }
      : {}),
    ...(k.lastRotation !== undefined ? { lastRotation: rfc3339(k.lastRotation) } : {}),
    ...(k.nextRotation !== undefined ? { nextRotation: rfc3339(k.nextRotation) } : {}),
  };
}

/** Events: each rotation and trim, Vault becoming unavailable and available again, keys ready. */
export function keyEvents(
  previous: readonly AgDRCondition[] | undefined,
  next: readonly AgDRCondition[],
  k: KeysObservation,
): KeyEvent[] {
  const events: KeyEvent[] = [];
  for (const r of k.rotated) {
    events.push({
      type: 'Normal',
      reason: 'KeyRotated',
      note: `rotated ${r.key} to version ${r.version}`,
    });
  }
  for (const t of k.trimmed) {
    events.push({
      type: 'Normal',
      reason: 'KeysTrimmed',
      note: `trimmed ${t.key}: versions before ${t.minVersion} are deleted in Vault (their public keys stay in the trust bundle)`,
    });
  }
  // Once per change of what waits, not at every reconcile while it waits.
  const waiting = trimWaitText(k.trimWaits);
  if (waiting !== '' && findCondition(previous, 'KeyRotated')?.message.includes(waiting) !== true) {
    events.push({ type: 'Normal', reason: 'KeyTrimWaiting', note: waiting });
  }
  const was = (t: KeyConditionType): string | undefined => findCondition(previous, t)?.status;
  const now = (t: KeyConditionType): AgDRCondition | undefined => findCondition(next, t);
  const vault = now('VaultUnavailable');
  if (vault?.status === 'True' && was('VaultUnavailable') !== 'True') {
    events.push({ type: 'Warning', reason: 'VaultUnavailable', note: vault.message });
  } else if (vault?.status === 'False' && was('VaultUnavailable') === 'True') {
    events.push({ type: 'Normal', reason: 'VaultAvailable', note: 'Vault answers again' });
  }
  const ready = now('KeysReady');
  if (ready?.status === 'True' && was('KeysReady') !== 'True') {
    events.push({ type: 'Normal', reason: 'KeysReady', note: ready.message });
  } else if (
    ready?.reason === 'KeyReplaced' &&
    findCondition(previous, 'KeysReady')?.reason !== 'KeyReplaced'
  ) {
    events.push({ type: 'Warning', reason: 'KeyReplaced', note: ready.message });
  }
  return events;
}
