// Vault key planning without Vault: rotation due dates, the trust bundle kept append-only with
// validity windows, trims only of versions already published, and the key conditions and Events.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TrustedKey } from '../../../src/clients/trust.ts';
import { trustedKey } from '../../../src/clients/trust.ts';
import { signCheckpoint } from '../../../src/core/checkpoint.ts';
import { ed25519SignerFromSeed } from '../../../src/core/signer.ts';
import type { TransitKeyInfo, TransitKeyVersion } from '../../../src/keys/transit.ts';
import {
  CLOCK_SKEW_MS,
  crdDurationMs,
  currentKey,
  keysReadyForShards,
  latestSignedBy,
  planTrust,
  rotationDue,
  rotationDueAt,
  TRIM_MARGIN_MS,
  trimTarget,
  type LatestSigned,
  type SignerKeyState,
} from '../../../src/operator/plan/keys.ts';
import {
  keyConditionValues,
  keyEvents,
  reasonOfCode,
  trimWaitText,
} from '../../../src/operator/plan/key-status.ts';
import { planStatus } from '../../../src/operator/plan/status.ts';
import { healthy } from './fixtures.ts';

const NOW = new Date('2026-12-06T12:00:00.000Z');
const HOUR = 3_600_000;
const ns = (ms: number): string => (BigInt(ms) * 1_000_000n).toString();

function publicKey(): Uint8Array {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
}

function version(v: number, createdMs: number): TransitKeyVersion {
  return { version: v, publicKey: publicKey(), createdAt: new Date(createdMs).toISOString() };
}

function info(name: string, versions: TransitKeyVersion[], minEncryption?: number): TransitKeyInfo {
  const latest = versions.at(-1)!.version;
  return {
    name,
    latestVersion: latest,
    minEncryptionVersion: minEncryption ?? latest,
    minSigningVersion: minEncryption ?? versions[0]!.version,
    minDecryptionVersion: 0,
    minAvailableVersion: versions[0]!.version,
    versions,
  };
}

const ORIGIN = 'agdr.dev/prod/desk/shard-0';
const NO_SIGNERS = new Map<string, LatestSigned>();
const KEEP_ALL = { retainVersions: undefined, settleMs: 0, latestSigned: NO_SIGNERS };
const KEEP_ONE = { retainVersions: 1, settleMs: 0, latestSigned: NO_SIGNERS };
function shardKey(versions: TransitKeyVersion[], minEncryption?: number): SignerKeyState {
  return {
    role: 'shard',
    shardId: 0,
    origin: ORIGIN,
    info: info('agdr_prod_desk_shard-0', versions, minEncryption),
  };
}
function entry(v: TransitKeyVersion, from = '0', until: string | null = null): TrustedKey {
  return {
    ...trustedKey('shard', { name: ORIGIN, publicKey: v.publicKey, keyVersion: v.version }, 0),
    valid_from_ns: from,
    valid_until_ns: until,
  };
}

describe('rotation', () => {
  it('is due once the newest version is one interval old', () => {
    const k = info('k', [version(1, NOW.getTime() - 2 * HOUR), version(2, NOW.getTime() - HOUR)]);
    expect(rotationDueAt(k, 2 * HOUR)?.toISOString()).toBe('2026-12-06T13:00:00.000Z');
    expect(rotationDue(k, 2 * HOUR, NOW)).toBe(false);
    expect(rotationDue(k, HOUR, NOW)).toBe(true);
    expect(
      rotationDue({ ...k, versions: [{ ...k.versions[1]!, createdAt: 'garbage' }] }, 1, NOW),
    ).toBe(false);
  });

  it('reads CRD durations and refuses anything else', () => {
    expect(crdDurationMs('720h', 'p')).toBe(720 * HOUR);
    expect(crdDurationMs('90s', 'p')).toBe(90_000);
    expect(() => crdDurationMs('1d', 'spec.keys.rotation.interval')).toThrow(
      /spec.keys.rotation.interval/,
    );
  });
});

describe('planTrust', () => {
  it('publishes a new key from 0 and a new version from its creation less the clock skew', () => {
    const v1 = version(1, NOW.getTime() - 3 * HOUR);
    const first = planTrust([], [shardKey([v1])], KEEP_ALL, NOW);
    expect(first.keys).toEqual([entry(v1)]);
    const v2 = version(2, NOW.getTime() - HOUR);
    const second = planTrust(first.keys, [shardKey([v1, v2])], KEEP_ALL, NOW);
    expect(second.keys).toEqual([entry(v1), entry(v2, ns(NOW.getTime() - HOUR - CLOCK_SKEW_MS))]);
    expect(second.trims.size).toBe(0);
    expect(currentKey(second.keys, ORIGIN)?.key_version).toBe(2);
  });

  it('trims only versions already published, closing their windows first', () => {
    const v1 = version(1, NOW.getTime() - 3 * HOUR);
    const v2 = version(2, NOW.getTime() - HOUR);
    const v3 = version(3, NOW.getTime() - 1000);
    // v1 and v2 published, v3 new: keep 1 version -> trim to 3, both windows close.
    const plan = planTrust([entry(v1), entry(v2)], [shardKey([v1, v2, v3])], KEEP_ONE, NOW);
    expect(plan.trims).toEqual(new Map([['agdr_prod_desk_shard-0', 3]]));
    const until = ns(NOW.getTime() + TRIM_MARGIN_MS);
    expect(plan.keys.map((k) => [k.key_version, k.valid_until_ns])).toEqual([
      [1, until],
      [2, until],
      [3, null],
    ]);
    // v2 never published (the bundle lost it, or it was created and rotated within one look):
    // publish it now, trim at a later reconcile.
    const later = planTrust([entry(v1)], [shardKey([v1, v2, v3])], KEEP_ONE, NOW);
    expect(later.trims.size).toBe(0);
    expect(later.keys.map((k) => k.key_version)).toEqual([1, 2, 3]);
    expect(later.keys.every((k) => k.valid_until_ns === null)).toBe(true);
  });

  it('never trims the version the signers may still use: the kept one must have settled', () => {
    const v1 = version(1, NOW.getTime() - 3 * HOUR);
    const v2 = version(2, NOW.getTime() - 2 * 60_000);
    const v3 = version(3, NOW.getTime() - 30_000);
    const k = shardKey([v1, v2, v3]);
    const published = [entry(v1), entry(v2), entry(v3)];
    // v3 is 30 s old, v2 2 min: with 1 min to settle the signers are on v2 at most.
    expect(trimTarget(k.info, { retainVersions: 1, settleMs: 60_000 }, NOW)).toBe(2);
    expect(planTrust(published, [k], { ...KEEP_ONE, settleMs: 60_000 }, NOW).trims).toEqual(
      new Map([['agdr_prod_desk_shard-0', 2]]),
    );
    // Nothing settled yet: nothing trimmed, however many versions.
    expect(trimTarget(k.info, { retainVersions: 1, settleMs: 4 * HOUR }, NOW)).toBeUndefined();
    // Already trimmed that far: nothing more.
    expect(
      trimTarget(
        { ...k.info, minAvailableVersion: 2 },
        { retainVersions: 1, settleMs: 60_000 },
        NOW,
      ),
    ).toBeUndefined();
    expect(trimTarget(k.info, { retainVersions: 2, settleMs: 0 }, NOW)).toBe(2);
    expect(trimTarget(k.info, { retainVersions: undefined, settleMs: 0 }, NOW)).toBeUndefined();
  });

  it("never trims above the version a running signer's latest checkpoint is signed with", () => {
    const v1 = version(1, NOW.getTime() - 3 * HOUR);
    const v2 = version(2, NOW.getTime() - 2 * HOUR);
    const v3 = version(3, NOW.getTime() - HOUR);
    const k = shardKey([v1, v2, v3]);
    const published = [entry(v1), entry(v2), entry(v3)];
    const on = (latest: LatestSigned) => ({
      ...KEEP_ONE,
      latestSigned: new Map([[ORIGIN, latest]]),
    });
    // The idle shard's latest checkpoint is still signed by version 1: nothing is trimmed.
    const idle = planTrust(published, [k], on({ version: 1 }), NOW);
    expect(idle.trims.size).toBe(0);
    expect(idle.keys.every((e) => e.valid_until_ns === null)).toBe(true);
    expect(idle.waits).toEqual([
      { key: 'agdr_prod_desk_shard-0', origin: ORIGIN, keepFrom: 3, latest: { version: 1 } },
    ]);
    // Signed by version 2: version 1 goes, version 2 waits.
    const partly = planTrust(published, [k], on({ version: 2 }), NOW);
    expect(partly.trims).toEqual(new Map([['agdr_prod_desk_shard-0', 2]]));
    expect(partly.keys.map((e) => e.valid_until_ns === null)).toEqual([false, true, true]);
    expect(partly.waits.map((w) => w.keepFrom)).toEqual([3]);
    // Signed by the newest: the trim the policy asks for, nothing waits.
    const moved = planTrust(published, [k], on({ version: 3 }), NOW);
    expect(moved.trims).toEqual(new Map([['agdr_prod_desk_shard-0', 3]]));
    expect(moved.waits).toEqual([]);
    // Not known (the pod is down, the checkpoint unreadable): nothing is trimmed.
    const unknown = planTrust(published, [k], on({ unknown: 'its pod is not ready' }), NOW);
    expect(unknown.trims.size).toBe(0);
    expect(unknown.waits[0]?.latest).toEqual({ unknown: 'its pod is not ready' });
    // A signer that runs no process (not listed) holds nothing back.
    expect(planTrust(published, [k], KEEP_ONE, NOW).trims).toEqual(moved.trims);
    // Another signer's checkpoint does not hold this key back.
    const other = new Map([['agdr.dev/prod/desk/shard-1', { version: 1 }]]);
    expect(planTrust(published, [k], { ...KEEP_ONE, latestSigned: other }, NOW).trims).toEqual(
      moved.trims,
    );
    expect(trimTarget(k.info, KEEP_ONE, NOW, { version: 2 })).toBe(2);
    expect(trimTarget(k.info, KEEP_ONE, NOW, { version: 1 })).toBeUndefined();
    expect(trimTarget(k.info, KEEP_ONE, NOW, { unknown: 'x' })).toBeUndefined();
  });

  it('reads which listed version signed a checkpoint', async () => {
    const signers = [1, 2, 3].map((v) =>
      ed25519SignerFromSeed(ORIGIN, new Uint8Array(32).fill(v), v),
    );
    const versions = signers.map((s) => ({
      version: s.keyVersion,
      publicKey: s.publicKey,
      createdAt: NOW.toISOString(),
    }));
    const note = (i: number) =>
      signCheckpoint({ origin: ORIGIN, size: 5, rootHash: new Uint8Array(32) }, signers[i]!);
    expect(latestSignedBy(await note(1), ORIGIN, versions)).toEqual({ version: 2 });
    expect(latestSignedBy(await note(2), ORIGIN, versions)).toEqual({ version: 3 });
    // Signed by a version Vault no longer lists (trimmed), or by a key of another log.
    expect(latestSignedBy(await note(0), ORIGIN, versions.slice(1))).toEqual({
      unknown: 'signed by no version Vault lists',
    });
    const stranger = ed25519SignerFromSeed('agdr.dev/prod/desk/shard-1', new Uint8Array(32), 1);
    const foreign = await signCheckpoint(
      { origin: 'agdr.dev/prod/desk/shard-1', size: 5, rootHash: new Uint8Array(32) },
      stranger,
    );
    expect(latestSignedBy(foreign, ORIGIN, versions)).toEqual({
      unknown: 'signed by no version Vault lists',
    });
    // A forged signature under a listed key ID verifies under no version.
    const good = await note(1);
    const forged = good.replace(/(\S{8})\S(\S*)\n$/, (_m, a: string, b: string) => `${a}A${b}\n`);
    expect(forged).not.toBe(good);
    expect(latestSignedBy(forged, ORIGIN, versions)).toEqual({
      unknown: 'signed by no version Vault lists',
    });
    expect(latestSignedBy('not a note', ORIGIN, versions)).toMatchObject({
      unknown: expect.stringMatching(/^not a signed note: /) as unknown,
    });
  });

  it('keeps trimmed versions and other logs as published, and never retrims', () => {
    const v1 = version(1, NOW.getTime() - 3 * HOUR);
    const v2 = version(2, NOW.getTime() - HOUR);
    const retired: TrustedKey = {
      ...entry(version(1, 0)),
      origin: 'agdr.dev/prod/desk/shard-9',
      shard_id: 9,
    };
    const closed = entry(v1, '0', ns(NOW.getTime() - HOUR));
    const published = [closed, entry(v2, '5'), retired];
    const plan = planTrust(published, [shardKey([v2])], KEEP_ONE, NOW);
    expect(plan.keys).toEqual([closed, entry(v2, '5'), retired]);
    expect(plan.trims.size).toBe(0);
  });

  it('closes the window of a version Vault no longer signs with', () => {
    const v1 = version(1, NOW.getTime() - 3 * HOUR);
    const v2 = version(2, NOW.getTime() - HOUR);
    const plan = planTrust([entry(v1), entry(v2, '7')], [shardKey([v1, v2], 2)], KEEP_ALL, NOW);
    expect(plan.keys.map((k) => k.valid_until_ns)).toEqual([ns(NOW.getTime()), null]);
  });

  it('reports a replaced key, keeps the published one and trims nothing', () => {
    const v1 = version(1, NOW.getTime() - 3 * HOUR);
    const v2 = version(2, NOW.getTime() - HOUR);
    const other = version(1, NOW.getTime() - 3 * HOUR);
    const plan = planTrust([entry(other)], [shardKey([v1, v2])], KEEP_ONE, NOW);
    expect(plan.conflicts).toEqual([{ origin: ORIGIN, keyVersion: 1 }]);
    expect(plan.keys[0]).toEqual(entry(other));
    expect(plan.trims.size).toBe(0);
  });

  it('counts the shards 0..N-1 with a current key', () => {
    const origin = (id: number): string => `agdr.dev/prod/desk/shard-${id}`;
    const k = (id: number, until: string | null = null): TrustedKey => ({
      ...entry(version(1, 0)),
      origin: origin(id),
      shard_id: id,
      valid_until_ns: until,
    });
    expect(keysReadyForShards([k(0), k(1), k(3)], origin)).toBe(2);
    expect(keysReadyForShards([k(0), k(1, '5')], origin)).toBe(1);
    expect(keysReadyForShards([], origin)).toBe(0);
  });
});

describe('key conditions and Events', () => {
  it('turns an error code into a CamelCase reason', () => {
    expect(reasonOfCode('vault_unreachable')).toBe('VaultUnreachable');
    expect(reasonOfCode('_')).toBe('VaultError');
  });

  it('plans KeysReady, KeyRotated and VaultUnavailable with status.keys', () => {
    const obs = healthy(2)
      .withVaultKeys({
        lastRotation: new Date('2026-12-06T11:00:00Z'),
        nextRotation: new Date('2026-12-06T13:00:00Z'),
        coordinatorKeyVersion: 2,
        rotated: [{ key: 'agdr_prod_desk_shard-1', version: 2 }],
      })
      .build();
    const { status, events } = planStatus(undefined, obs, NOW);
    const byType = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c]));
    expect(Object.keys(byType)).toEqual([
      'Ready',
      'Progressing',
      'Degraded',
      'KeysReady',
      'KeyRotated',
      'VaultUnavailable',
    ]);
    expect(byType.KeysReady).toMatchObject({ status: 'True', reason: 'KeysProvisioned' });
    expect(byType.KeyRotated).toMatchObject({
      status: 'True',
      reason: 'Rotated',
      message: 'last rotation 2026-12-06T11:00:00Z; next rotation due 2026-12-06T13:00:00Z',
    });
    expect(byType.VaultUnavailable).toMatchObject({ status: 'False', reason: 'VaultReachable' });
    expect(status.keys).toEqual({
      provider: 'vault',
      readyForShards: 2,
      coordinatorKeyVersion: 2,
      lastRotation: '2026-12-06T11:00:00Z',
      nextRotation: '2026-12-06T13:00:00Z',
    });
    expect(events.filter((e) => e.reason.startsWith('Key'))).toEqual([
      { type: 'Normal', reason: 'KeyRotated', note: 'rotated agdr_prod_desk_shard-1 to version 2' },
      {
        type: 'Normal',
        reason: 'KeysReady',
        note: 'keys for 2 shards and the coordinator are in Vault and published',
      },
    ]);
  });

  it('Vault down: VaultUnavailable True once with a Warning, VaultAvailable when it is back', () => {
    const up = planStatus(undefined, healthy(2).withVaultKeys().build(), NOW).status;
    const down = healthy(2)
      .withVaultKeys({
        vaultError: { code: 'vault_unreachable', message: 'vault x: no answer (ECONNREFUSED)' },
      })
      .build();
    const first = planStatus(up, down, NOW);
    const vault = first.status.conditions?.find((c) => c.type === 'VaultUnavailable');
    expect(vault).toMatchObject({ status: 'True', reason: 'VaultUnreachable' });
    // The cluster itself stays Ready: its keys are published and its pods sign on their own.
    expect(first.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(first.events.map((e) => e.reason)).toEqual(['VaultUnavailable']);
    expect(planStatus(first.status, down, NOW).events).toEqual([]);
    const back = planStatus(first.status, healthy(2).withVaultKeys().build(), NOW);
    expect(back.events.map((e) => e.reason)).toEqual(['VaultAvailable']);
  });

  it('keys not yet provisioned: KeysReady False with what is missing and why', () => {
    const values = keyConditionValues({
      readyForShards: 1,
      coordinatorReady: false,
      wantedShards: 3,
      conflicts: [],
      trimWaits: [],
      rotated: [],
      trimmed: [],
      vaultError: { code: 'vault_denied', message: 'permission denied' },
    });
    expect(values.KeysReady).toEqual({
      status: 'False',
      reason: 'VaultUnavailable',
      message:
        'keys published for 1 of 3 shards, not for the coordinator; Vault: permission denied',
    });
    expect(values.KeyRotated.status).toBe('Unknown');
    expect(values.VaultUnavailable.reason).toBe('VaultDenied');
  });

  it('a trim waiting for a signer: said in KeyRotated, one KeyTrimWaiting Event per change', () => {
    const wait = {
      key: 'agdr_prod_desk_shard-1',
      origin: 'agdr.dev/prod/desk/shard-1',
      keepFrom: 2,
      latest: { version: 1 },
    };
    const waiting = healthy(2)
      .withVaultKeys({ lastRotation: new Date('2026-12-06T11:00:00Z'), trimWaits: [wait] })
      .build();
    const first = planStatus(undefined, waiting, NOW);
    const text =
      "trims wait for their signers: agdr_prod_desk_shard-1: versions below 2 are trimmed once agdr.dev/prod/desk/shard-1's latest checkpoint is signed by version 2 or later (now: version 1)";
    expect(first.status.conditions?.find((c) => c.type === 'KeyRotated')).toMatchObject({
      status: 'True',
      reason: 'Rotated',
      message: `last rotation 2026-12-06T11:00:00Z; ${text}`,
    });
    expect(first.events.filter((e) => e.reason === 'KeyTrimWaiting')).toEqual([
      { type: 'Normal', reason: 'KeyTrimWaiting', note: text },
    ]);
    // Still waiting the same way: no new Event. The signer's pod down: a new one.
    expect(planStatus(first.status, waiting, NOW).events).toEqual([]);
    const down = healthy(2)
      .withVaultKeys({
        lastRotation: new Date('2026-12-06T11:00:00Z'),
        trimWaits: [{ ...wait, latest: { unknown: 'its pod is not ready' } }],
      })
      .build();
    expect(planStatus(first.status, down, NOW).events.map((e) => e.note)).toEqual([
      expect.stringMatching(/\(now: its pod is not ready\)$/),
    ]);
    // More than three waits: three named, the rest counted.
    const many = Array.from({ length: 5 }, (_, i) => ({ ...wait, key: `k${i}` }));
    expect(trimWaitText(many)).toMatch(/k2: .*; and 2 more$/);
    expect(trimWaitText(many)).not.toMatch(/k3/);
  });

  it('a replaced key is a Warning once', () => {
    const k = {
      readyForShards: 1,
      coordinatorReady: true,
      wantedShards: 1,
      conflicts: [{ origin: ORIGIN, keyVersion: 1 }],
      rotated: [],
      trimmed: [],
    };
    const obs = healthy(1).withVaultKeys(k).build();
    const first = planStatus(undefined, obs, NOW);
    expect(first.events.filter((e) => e.reason === 'KeyReplaced')).toHaveLength(1);
    expect(keyEvents(first.status.conditions, first.status.conditions ?? [], obs.keys!)).toEqual(
      [],
    );
  });
});

describe('Ready of a vault cluster without keys', () => {
  it('says the keys are what it waits for', () => {
    const obs = {
      ...healthy(0)
        .withVaultKeys({ readyForShards: 0, wantedShards: 3, coordinatorReady: false })
        .build(),
      runningShards: 0,
    };
    const ready = planStatus(undefined, obs, NOW).status.conditions?.find(
      (c) => c.type === 'Ready',
    );
    expect(ready).toMatchObject({
      status: 'False',
      reason: 'KeysNotReady',
      message: 'keys published for 0 of 3 shards, not for the coordinator',
    });
  });
});
