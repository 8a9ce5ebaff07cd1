// Pure key planning for `keys.provider: vault`: when a transit key is due for rotation, the trust
// bundle entries (every version ever published, with its validity window), which keys may be
// trimmed now, and the facts status is planned from. `now` is passed in; nothing here reads a
// clock, Vault or the apiserver.
//
// The trust ConfigMap is where a version's public key is held once Vault no longer lists it
// (trim deletes the public half too), so it is only ever extended: an entry once published keeps
// its key and its `valid_from_ns`; only a `valid_until_ns` that is still open may be closed.
import type { TrustedKey } from '../../clients/trust.ts';
import { trustedKey } from '../../clients/trust.ts';
import { utf8 } from '../../core/bytes.ts';
import { ed25519Verifier, parseNote } from '../../core/note.ts';
import { reasonOf } from '../../core/errors.ts';
import type { TransitKeyInfo } from '../../keys/transit.ts';
import { KeyPlanError } from '../../keys/vault-plan.ts';

/**
 * How far a signer's clock may run behind Vault's: a new version's window opens this long
 * before Vault created it, so a checkpoint stamped by a slow clock still falls inside.
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * A version about to be trimmed stays valid this long after the trust bundle closes it: the
 * trim (which raises min_encryption_version, after which Vault refuses it) follows within one
 * reconcile, so nothing it signs can be dated after its window.
 */
export const TRIM_MARGIN_MS = 30_000;

/** One signer's transit key as Vault reports it, with the log it signs for. */
export interface SignerKeyState {
  readonly role: 'shard' | 'coordinator';
  readonly shardId?: number;
  /** Signed-note key name: the log origin. */
  readonly origin: string;
  readonly info: TransitKeyInfo;
}

/** Milliseconds since the epoch of Vault's RFC 3339 `creation_time`; undefined if unreadable. */
export function vaultTimeMs(text: string): number | undefined {
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

/** When the newest version was created plus the interval; undefined without a creation time. */
export function rotationDueAt(info: TransitKeyInfo, intervalMs: number): Date | undefined {
  const latest = info.versions.at(-1);
  const created = latest !== undefined ? vaultTimeMs(latest.createdAt) : undefined;
  return created !== undefined ? new Date(created + intervalMs) : undefined;
}

/** A key is rotated once its newest version is `intervalMs` old. */
export function rotationDue(info: TransitKeyInfo, intervalMs: number, now: Date): boolean {
  const due = rotationDueAt(info, intervalMs);
  return due !== undefined && due.getTime() <= now.getTime();
}

function nsOf(ms: number): string {
  return (BigInt(Math.max(0, Math.floor(ms))) * 1_000_000n).toString();
}

function sameSigner(e: TrustedKey, k: SignerKeyState): boolean {
  return e.origin === k.origin && e.role === k.role && e.shard_id === k.shardId;
}

/** A published version whose public key is not the one Vault now lists: a replaced key. */
export interface KeyConflict {
  readonly origin: string;
  readonly keyVersion: number;
}

export interface TrustPlan {
  /** The bundle's keys: shards by id, then the coordinator; versions oldest first. */
  readonly keys: TrustedKey[];
  /** Per transit key: trim to this version now (its older versions are published and closed). */
  readonly trims: ReadonlyMap<string, number>;
  readonly conflicts: readonly KeyConflict[];
  readonly waits: readonly TrimWait[];
}

function order(a: TrustedKey, b: TrustedKey): number {
  return (
    (a.role === 'coordinator' ? 1 : 0) - (b.role === 'coordinator' ? 1 : 0) ||
    (a.shard_id ?? 0) - (b.shard_id ?? 0) ||
    (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0) ||
    a.key_version - b.key_version
  );
}

/**
 * What the operator read of a running signer's latest checkpoint (a shard's `GET /v1/checkpoint`,
 * the coordinator's global checkpoint): the key version that signed it, or why that is not known.
 */
export type LatestSigned = { readonly version: number } | { readonly unknown: string };

/**
 * The version of `versions` (a transit key's, as Vault lists them) whose key verifies `note`
 * under `origin`; the newest if several do. A note no listed version verifies (signed by a
 * version already trimmed, or not a note of this log) is `unknown`.
 */
export function latestSignedBy(
  note: string,
  origin: string,
  versions: TransitKeyInfo['versions'],
): LatestSigned {
  let parsed: ReturnType<typeof parseNote>;
  try {
    parsed = parseNote(note);
  } catch (err) {
    return { unknown: `not a signed note: ${reasonOf(err)}` };
  }
  const text = utf8.encode(parsed.text);
  let newest: number | undefined;
  for (const v of versions) {
    const verifier = ed25519Verifier(origin, v.publicKey);
    const signed = parsed.signatures.some(
      (sig) =>
        sig.name === origin && sig.keyId === verifier.keyId && verifier.verify(text, sig.signature),
    );
    if (signed) newest = v.version;
  }
  return newest !== undefined
    ? { version: newest }
    : { unknown: 'signed by no version Vault lists' };
}

/** A trim held back because a signer's latest checkpoint is not signed by a kept version yet. */
export interface TrimWait {
  /** Transit key name. */
  readonly key: string;
  /** The signer (log origin). */
  readonly origin: string;
  /** The lowest version the trim would keep without the signer. */
  readonly keepFrom: number;
  readonly latest: LatestSigned;
}

export interface TrimPolicy {
  /** Versions kept in Vault; undefined: none is ever trimmed. */
  readonly retainVersions: number | undefined;
  /** How old a version must be before every signer signs with it. */
  readonly settleMs: number;
  /**
   * The latest checkpoint of each running signer, by origin: no version at or above the one it
   * is signed with is trimmed (and none at all while it is unknown). A signer not listed runs no
   * process (a retired shard, a shard not started yet): nothing it signs can be left behind.
   */
  readonly latestSigned: ReadonlyMap<string, LatestSigned>;
}

/**
 * The lowest version to keep now, or undefined when nothing is to be trimmed: the newest
 * `retainVersions`, but never a version newer than the newest one that is `settleMs` old (the
 * signers' activation delay and key refresh), nor newer than the one that signed the signer's
 * latest checkpoint (`latest`; unknown: nothing). The signer records its key transition before
 * it signs with the new version, so every version below that has already been left for good.
 */
export function trimTarget(
  info: TransitKeyInfo,
  policy: Omit<TrimPolicy, 'latestSigned'>,
  now: Date,
  latest?: LatestSigned,
): number | undefined {
  if (policy.retainVersions === undefined) return undefined;
  const settled = info.versions.filter((v) => {
    const created = vaultTimeMs(v.createdAt);
    return created !== undefined && created + policy.settleMs <= now.getTime();
  });
  const newestSettled = settled.at(-1)?.version;
  if (newestSettled === undefined) return undefined;
  let target = Math.min(info.latestVersion - policy.retainVersions + 1, newestSettled);
  if (latest !== undefined) target = 'version' in latest ? Math.min(target, latest.version) : 0;
  return target > Math.max(1, info.minAvailableVersion) ? target : undefined;
}

/**
 * The trust bundle keys to publish, from those `published` so far and the keys Vault reports:
 * - a version Vault lists that is not published yet is added, valid from its creation time
 *   less CLOCK_SKEW_MS (version 1: from 0, nothing signed before the key existed);
 * - a version Vault no longer signs with (below minSigningVersion) gets its window closed
 *   at `now` if it was open;
 * - with `retainVersions`, a key is trimmed to trimTarget. Versions are trimmed only once all of
 *   them are published (identical public keys); their windows close at now + TRIM_MARGIN_MS.
 *   Versions not yet published are published first and trimmed at a later reconcile. A trim
 *   held back by a signer's latest checkpoint is reported in `waits`;
 * - entries of other logs (a retired shard) and of trimmed versions are kept as they are;
 * - a published version whose public key differs from Vault's is never overwritten: it is
 *   reported as a conflict and its key is not trimmed.
 */
export function planTrust(
  published: readonly TrustedKey[],
  keys: readonly SignerKeyState[],
  policy: TrimPolicy,
  now: Date,
): TrustPlan {
  const out = published.map((e) => ({ ...e }));
  const trims = new Map<string, number>();
  const conflicts: KeyConflict[] = [];
  const waits: TrimWait[] = [];
  const nowMs = now.getTime();
  for (const k of keys) {
    const mine = (v: number): TrustedKey | undefined =>
      out.find((e) => sameSigner(e, k) && e.key_version === v);
    let conflicted = false;
    for (const v of k.info.versions) {
      const entry = trustedKey(
        k.role,
        { name: k.origin, publicKey: v.publicKey, keyVersion: v.version },
        k.shardId,
      );
      const held = mine(v.version);
      if (held !== undefined) {
        if (held.verifier_key !== entry.verifier_key) {
          conflicts.push({ origin: k.origin, keyVersion: v.version });
          conflicted = true;
        }
        continue;
      }
      const created = vaultTimeMs(v.createdAt);
      entry.valid_from_ns =
        v.version === 1 || created === undefined ? '0' : nsOf(created - CLOCK_SKEW_MS);
      out.push(entry);
    }
    for (const e of out) {
      if (
        sameSigner(e, k) &&
        e.valid_until_ns === null &&
        e.key_version < k.info.minSigningVersion
      ) {
        e.valid_until_ns = nsOf(nowMs);
      }
    }
    if (conflicted) continue;
    const latest = policy.latestSigned.get(k.origin);
    const wanted = trimTarget(k.info, policy, now);
    const target = latest === undefined ? wanted : trimTarget(k.info, policy, now, latest);
    if (latest !== undefined && wanted !== undefined && target !== wanted)
      waits.push({ key: k.info.name, origin: k.origin, keepFrom: wanted, latest });
    if (target === undefined) continue;
    const removed = k.info.versions.filter((v) => v.version < target);
    const held = removed.every((v) => {
      const e = published.find((p) => sameSigner(p, k) && p.key_version === v.version);
      return (
        e !== undefined &&
        e.verifier_key ===
          trustedKey(k.role, { name: k.origin, publicKey: v.publicKey, keyVersion: v.version })
            .verifier_key
      );
    });
    if (!held) continue;
    trims.set(k.info.name, target);
    for (const e of out) {
      if (sameSigner(e, k) && e.key_version < target && e.valid_until_ns === null) {
        e.valid_until_ns = nsOf(nowMs + TRIM_MARGIN_MS);
      }
    }
  }
  return { keys: out.sort(order), trims, conflicts, waits };
}

/**
 * Shards 0..N-1 whose keys are published and current (a version with an open window): the N
 * the StatefulSet may run. Stops at the first shard without one.
 */
export function keysReadyForShards(
  keys: readonly TrustedKey[],
  origins: (id: number) => string,
): number {
  let n = 0;
  while (
    keys.some(
      (k) =>
        k.role === 'shard' &&
        k.shard_id === n &&
        k.origin === origins(n) &&
        k.valid_until_ns === null,
    )
  ) {
    n++;
  }
  return n;
}

/** The newest current version of a log's key, if one is published. */
export function currentKey(keys: readonly TrustedKey[], origin: string): TrustedKey | undefined {
  return keys
    .filter((k) => k.origin === origin && k.valid_until_ns === null)
    .sort((a, b) => a.key_version - b.key_version)
    .at(-1);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a CRD duration (`720h`: digits and one unit, as the schema's pattern says). */
export function crdDurationMs(text: string, path: string): number {
  const m = /^([0-9]{1,9})(ms|s|m|h)$/.exec(text);
  if (m === null) throw new KeyPlanError(path, `'${text}' is not a duration (digits and ms|s|m|h)`);
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}
