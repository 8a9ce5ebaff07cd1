// A Signer whose private key lives in Vault's (or OpenBao's) transit engine and never leaves it:
// `transit/sign/<key>` signs, `transit/keys/<key>` lists every version's public key. Each
// signing asks for one pinned version (the one whose public key this signer reports, so a note's
// key id and its signature always agree, even across a rotation) and the answer is verified
// under that version's public key before it is returned. The versions are re-read periodically
// and whenever Vault refuses a signing, so a rotation is picked up within `refreshMs`. With
// `holdVersion` a newer version is only learnt, and taken up when the owner says so
// (useVersion), after it recorded the rotation in its key history (key-history-file.ts).
import type { Logger } from 'pino';
import { bytesEqual, toBase64 } from '../core/bytes.ts';
import type { PublicKeyVersion } from './file-signer.ts';
import type { VersionedSigner } from './versioned-signer.ts';
import {
  checkTransitSignature,
  parseTransitKey,
  TransitError,
  verifyingVersion,
  type TransitKeyInfo,
  type TransitKeyVersion,
  type VerifyingVersion,
} from './transit.ts';
import { VaultRequestError, type VaultSession } from './vault-client.ts';

export interface VaultSignerOptions {
  readonly session: VaultSession;
  /** Mount path of the transit engine (default `transit`). */
  readonly mount: string;
  /** Transit key name. */
  readonly key: string;
  /** Signed-note key name (a shard's origin, the coordinator's origin). */
  readonly name: string;
  /** How often the key's versions are re-read to pick up a rotation. */
  readonly refreshMs: number;
  /** A new version signs only once it is this old (0: at once); see signingVersionOf. */
  readonly activationMs?: number;
  readonly logger: Logger;
  /**
   * Keep signing with the version in use after a rotation until useVersion() (unless Vault no
   * longer signs with it); without it the newest version signs from the next refresh on.
   */
  readonly holdVersion?: boolean;
}

export class VaultTransitSigner implements VersionedSigner {
  readonly name: string;
  readonly #o: VaultSignerOptions;
  #info: TransitKeyInfo;
  #signing: VerifyingVersion;
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;

  private constructor(o: VaultSignerOptions, info: TransitKeyInfo) {
    this.name = o.name;
    this.#o = o;
    this.#info = info;
    this.#signing = signingVersionOf(info, o.activationMs);
  }

  /** Reads the key (it must exist, be ed25519 and not exportable) and starts refreshing it. */
  static async open(o: VaultSignerOptions): Promise<VaultTransitSigner> {
    const signer = new VaultTransitSigner(o, await readKey(o));
    signer.#timer = setInterval(() => void signer.refresh().catch(() => undefined), o.refreshMs);
    signer.#timer.unref();
    o.logger.info(
      { key: o.key, mount: o.mount, key_version: signer.keyVersion },
      'signing with Vault transit key',
    );
    return signer;
  }

  get publicKey(): Uint8Array {
    return this.#signing.publicKey;
  }

  get keyVersion(): number {
    return this.#signing.version;
  }

  /** Every version Vault still lists, oldest first (trimmed versions are gone). */
  get versions(): readonly PublicKeyVersion[] {
    return this.#info.versions.map((v) => ({ keyVersion: v.version, publicKey: v.publicKey }));
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    // Taken before the first await: the caller read publicKey/keyVersion of this same version.
    return this.#signAs(this.#signing, message);
  }

  get activeVersion(): number {
    return signingVersionOf(this.#info, this.#o.activationMs).version;
  }

  canSignWith(version: number): boolean {
    return version >= this.#info.minSigningVersion && this.#listed(version) !== undefined;
  }

  signWithVersion(version: number, message: Uint8Array): Promise<Uint8Array> {
    const v = this.#listed(version);
    if (v === undefined) {
      const err = new TransitError('unknown_version', this.#o.key, `no version ${version}`);
      return Promise.reject(err);
    }
    return this.#signAs(verifyingVersion(v), message);
  }

  useVersion(version: number): void {
    if (version === this.#signing.version) return;
    const v = this.#listed(version);
    if (v === undefined)
      throw new TransitError('unknown_version', this.#o.key, `no version ${version}`);
    const before = this.#signing.version;
    this.#signing = verifyingVersion(v);
    this.#o.logger.info(
      { key: this.#o.key, key_version: version, previous_version: before },
      'Vault signing key version changed',
    );
  }

  #listed(version: number): TransitKeyVersion | undefined {
    return this.#info.versions.find((v) => v.version === version);
  }

  async #signAs(version: VerifyingVersion, message: Uint8Array): Promise<Uint8Array> {
    const { session, mount, key } = this.#o;
    let body: Record<string, unknown>;
    try {
      body = await session.write(`${mount}/sign/${key}`, {
        input: toBase64(message),
        key_version: version.version,
      });
    } catch (err) {
      // E.g. the version fell below min_encryption_version (Vault 1.21 answers that with a 500
      // naming the rule): learn the current version for the next attempt.
      if (
        err instanceof VaultRequestError &&
        (err.code === 'vault_rejected' || err.code === 'vault_failed')
      ) {
        void this.refresh().catch(() => undefined);
      }
      throw err;
    }
    const data = body.data as { signature?: unknown } | undefined;
    return checkTransitSignature(key, version, message, data?.signature);
  }

  /**
   * Re-reads the key's versions and signs with the newest allowed one from then on. A version
   * whose public key changed means the key in Vault was replaced: that fails loudly and the
   * signer keeps the keys it knew (so its signatures fail verification, never pass silently).
   */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const { logger, key } = this.#o;
    let info: TransitKeyInfo;
    try {
      info = await readKey(this.#o);
      for (const v of info.versions) {
        const known = this.#info.versions.find((k) => k.version === v.version);
        if (known !== undefined && !bytesEqual(known.publicKey, v.publicKey)) {
          throw new TransitError(
            'key_replaced',
            key,
            `the public key of version ${v.version} changed: the key in Vault was replaced`,
          );
        }
      }
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const level = err instanceof TransitError ? 'error' : 'warn';
      logger[level]({ err: (err as Error).message, code, key }, 'reading the Vault key failed');
      throw err;
    }
    this.#info = info;
    const held = this.#signing.version;
    if (this.#o.holdVersion === true && this.canSignWith(held)) {
      if (info.latestVersion !== held)
        logger.debug(
          { key, key_version: held, latest_version: info.latestVersion },
          'newer key version held back',
        );
      return;
    }
    this.useVersion(signingVersionOf(info, this.#o.activationMs).version);
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

async function readKey(o: VaultSignerOptions): Promise<TransitKeyInfo> {
  const body = await o.session.read(`${o.mount}/keys/${o.key}`);
  return parseTransitKey(o.key, body.data);
}

/**
 * The version to sign with: the newest one Vault still signs with (minSigningVersion and up)
 * that is at least `activationMs` old by Vault's creation time, so verifiers have had time to
 * learn its public key (a trust bundle published at rotation reaches them with some delay);
 * the oldest allowed one when none is that old yet. `activationMs` 0: the newest.
 */
export function signingVersionOf(
  info: TransitKeyInfo,
  activationMs = 0,
  nowMs = Date.now(),
): VerifyingVersion {
  const allowed = info.versions.filter((v) => v.version >= info.minSigningVersion);
  const active = allowed.filter((v) => {
    const created = Date.parse(v.createdAt);
    return activationMs <= 0 || !Number.isFinite(created) || created + activationMs <= nowMs;
  });
  const chosen = active.at(-1) ?? allowed[0] ?? info.versions.at(-1);
  if (chosen === undefined) throw new TransitError('unknown_version', info.name, 'no versions');
  return verifyingVersion(chosen);
}
