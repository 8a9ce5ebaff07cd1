// A log process's key history (docs/spec/25-key-history.md), kept in its data directory: the
// first key version it signed with and one signed key transition per rotation. The owner calls
// advance() before it reads its clock for a signature, with its signatures serialized: if the
// key service has a newer version, the transition is signed by the old and the new version,
// stored durably, and only then does the new version sign. So every signature by the old key
// is dated before the transition's valid_from_ns and every one by the new key at or after it.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { reasonOf } from '../core/errors.ts';
import {
  checkKeyHistory,
  KEY_HISTORY_FORMAT,
  KeyHistoryError,
  openKeyTransition,
  signKeyTransition,
  type KeyHistory,
} from '../core/key-history.ts';
import { verifierKeyString } from '../core/note.ts';
import type { Signer } from '../core/signer.ts';
import { replaceFile } from './durable-file.ts';
import { isVersionedSigner, pinnedVersion, type VersionedSigner } from './versioned-signer.ts';

/** The file name in a shard's or the coordinator's data directory. */
export const KEY_HISTORY_FILE = 'key-history.json';

export interface KeyHistoryFileOptions {
  readonly file: string;
  /** The log's signer (key name = origin). Only a versioned signer can record a rotation. */
  readonly signer: Signer;
  /** Nanoseconds since the Unix epoch: the clock the owner dates its signatures with. */
  readonly clock: () => bigint;
  readonly logger: Logger;
}

interface Head {
  readonly version: number;
  readonly verifierKey: string;
}

export class KeyHistoryFile {
  readonly #o: KeyHistoryFileOptions;
  #doc: KeyHistory;
  /** The key version the history has reached (after a break: the one that took over). */
  #head: Head;
  #running: Promise<void> = Promise.resolve();

  private constructor(o: KeyHistoryFileOptions, doc: KeyHistory) {
    this.#o = o;
    this.#doc = doc;
    const last = doc.transitions.at(-1);
    if (last === undefined) {
      this.#head = { version: doc.first.version, verifierKey: doc.first.verifier_key };
    } else {
      const t = openKeyTransition(last);
      this.#head = { version: t.newVersion, verifierKey: t.newKey };
    }
  }

  /**
   * Reads the history (creating it, with the signer's version in use as the first key, on a
   * log's first start), makes the signer sign with the version the history has reached, and
   * records a rotation that happened while the process was down (if the key service can).
   */
  static async open(o: KeyHistoryFileOptions): Promise<KeyHistoryFile> {
    const doc = await readHistory(o.file, o.signer.name);
    const history = new KeyHistoryFile(
      o,
      doc ?? {
        format: KEY_HISTORY_FORMAT,
        origin: o.signer.name,
        first: {
          version: o.signer.keyVersion,
          verifier_key: verifierKeyString(o.signer.name, o.signer.publicKey),
        },
        transitions: [],
      },
    );
    if (doc === undefined) await writeHistory(o.file, history.#doc);
    const { signer } = o;
    const head = history.#head;
    if (isVersionedSigner(signer)) {
      const listed = signer.versions.find((v) => v.keyVersion === head.version);
      if (
        listed !== undefined &&
        verifierKeyString(signer.name, listed.publicKey) === head.verifierKey &&
        signer.canSignWith(head.version)
      )
        signer.useVersion(head.version);
      // A failure here (the key service briefly away) is retried before the next signature.
      await history
        .advance()
        .catch((err: unknown) =>
          o.logger.warn({ err: reasonOf(err) }, 'key rotation not recorded yet; retrying'),
        );
    } else if (verifierKeyString(signer.name, signer.publicKey) !== head.verifierKey) {
      o.logger.error(
        { key_version: signer.keyVersion, history_version: head.version },
        'the signing key is not the one the key history ends with, and this signer cannot sign a key transition: the history is broken here',
      );
    }
    return history;
  }

  /** The document `GET /v1/key-history` serves. */
  get document(): KeyHistory {
    return this.#doc;
  }

  /**
   * If the key service has a version newer than the one the history has reached: signs the
   * transition to it with both versions, stores it, and switches the signer to it. Throws when
   * the transition could not be signed or stored (the signer then keeps the old version and the
   * caller's signature fails, to be retried); a version that can no longer sign (trimmed before
   * its successor was recorded) breaks the history, which is logged, and the newest version
   * signs from then on.
   */
  advance(): Promise<void> {
    const run = this.#running.then(() => this.#advance());
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #advance(): Promise<void> {
    const { signer, logger } = this.#o;
    if (!isVersionedSigner(signer)) return;
    // The version the key service has sign now (a new one may wait for its activation age).
    const newest = signer.versions.find((v) => v.keyVersion === signer.activeVersion);
    if (newest === undefined || newest.keyVersion <= this.#head.version) return;
    const from = this.#head;
    if (!signer.canSignWith(from.version)) return this.#broken(signer, from, newest.keyVersion);
    const validFromNs = this.#o.clock();
    let note: string;
    try {
      note = await signKeyTransition(
        pinnedVersion(signer, from.version),
        pinnedVersion(signer, newest.keyVersion),
        validFromNs,
      );
    } catch (err) {
      // Refused: re-read the key first; a version trimmed meanwhile is a break, not an outage.
      await signer.refresh?.().catch(() => undefined);
      if (!signer.canSignWith(from.version)) return this.#broken(signer, from, newest.keyVersion);
      throw err;
    }
    const doc = { ...this.#doc, transitions: [...this.#doc.transitions, note] };
    await writeHistory(this.#o.file, doc);
    this.#doc = doc;
    this.#head = {
      version: newest.keyVersion,
      verifierKey: verifierKeyString(signer.name, newest.publicKey),
    };
    signer.useVersion(newest.keyVersion);
    logger.info(
      { key: signer.name, key_version: newest.keyVersion, previous_version: from.version },
      'key rotated; the key transition is recorded in the key history',
    );
  }

  #broken(signer: VersionedSigner, from: Head, to: number): void {
    const newest = signer.versions.find((v) => v.keyVersion === to);
    if (newest === undefined) return;
    this.#o.logger.error(
      { key: signer.name, key_version: to, previous_version: from.version },
      'key version can no longer sign (trimmed before its successor was recorded): the key history is broken here, only a trust bundle covers the newer version',
    );
    this.#head = { version: to, verifierKey: verifierKeyString(signer.name, newest.publicKey) };
    signer.useVersion(to);
  }
}

function writeHistory(file: string, doc: KeyHistory): Promise<void> {
  return replaceFile(file, JSON.stringify(doc) + '\n', 0o644);
}

/**
 * The stored history of `origin` (every transition well-formed and signed by both its keys), or
 * undefined if there is none yet. The chain itself may be broken where a version was trimmed
 * before its successor was recorded; that is the verifier's finding, and was logged when it
 * happened.
 */
async function readHistory(file: string, origin: string): Promise<KeyHistory | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const doc = checkKeyHistory(JSON.parse(text));
  if (doc.origin !== origin) {
    throw new KeyHistoryError(
      'malformed_history',
      '$.origin',
      `${file} is the key history of ${doc.origin}, not of ${origin}`,
    );
  }
  doc.transitions.forEach((note, i) => openKeyTransition(note, `$.transitions[${i}]`));
  return doc;
}
