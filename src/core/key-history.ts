// Key history: a log's key rotations recorded as signed statements, so that a verifier who
// trusts a log's first key can follow every later key without trusting a key list (a ConfigMap,
// a trust bundle) that anyone with write access could have edited.
//
// A key transition is a C2SP signed note
//
//   agdr-key-transition/v1
//   <origin>
//   old <version> <verifier key>
//   new <version> <verifier key>
//   valid_from_ns <decimal>
//
// signed by the old key (it endorses its successor) and by the new key (it proves its holder
// took part). A key history is the list of a log's transitions in order; it turns trusted first
// keys into pinned keys with validity windows. See docs/spec/25-key-history.md.
import { FieldError } from './errors.ts';
import { parseOrigin } from './checkpoint.ts';
import { isCanonicalU64 } from './decision/timestamp.ts';
import {
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
  verifierKeyString,
  type NoteVerifier,
} from './note.ts';
import type { Signer } from './signer.ts';
import type { TrustAnchor } from './bundle.ts';

export const KEY_TRANSITION_HEADER = 'agdr-key-transition/v1';
export const KEY_HISTORY_FORMAT = 'agdr-key-history/v1';

export type KeyHistoryErrorCode =
  | 'malformed_transition' // not a key transition note in canonical form
  | 'invalid_signature' // a signature by the old or the new key is missing or does not verify
  | 'untrusted_start' // the first transition of a log starts from a key that is not trusted
  | 'broken_chain' // a transition does not start from the key the one before it introduced
  | 'out_of_order' // valid_from_ns does not increase along the chain
  | 'expired_key' // the old key was no longer valid when its successor took over
  | 'malformed_history'; // the history document's structure

/** `path` is the JSON path of the offending element of the history (`$.transitions[2]`). */
export class KeyHistoryError extends FieldError<KeyHistoryErrorCode> {
  override name = 'KeyHistoryError';
}

/** One rotation of a log's key. */
export interface KeyTransition {
  /** The log's origin, which is also both keys' name. */
  readonly origin: string;
  readonly oldVersion: number;
  /** C2SP verifier key of the old version. */
  readonly oldKey: string;
  readonly newVersion: number;
  readonly newKey: string;
  /** From when the new key signs, and until when the old one did (ns since the Unix epoch). */
  readonly validFromNs: bigint;
}

/** A log's key history document (`GET /v1/key-history`, `agdr verify --key-history`). */
export interface KeyHistory {
  format: typeof KEY_HISTORY_FORMAT;
  /** The log's origin (its keys' name). */
  origin: string;
  /**
   * The first key version the log signed with, as the log states it: informational, so that a
   * verifier can compare it with the first key it pinned; it is never trusted from here.
   */
  first: { version: number; verifier_key: string };
  /** Signed key transition notes of this log, in the order they happened. */
  transitions: string[];
}

/** The canonical note text of a transition. */
export function formatKeyTransition(t: KeyTransition): string {
  return (
    `${KEY_TRANSITION_HEADER}\n${t.origin}\n` +
    `old ${t.oldVersion} ${t.oldKey}\nnew ${t.newVersion} ${t.newKey}\n` +
    `valid_from_ns ${t.validFromNs}\n`
  );
}

const VERSION = /^[1-9][0-9]{0,14}$/;

/** Parses a transition's note text strictly (the canonical form only). */
export function parseKeyTransition(text: string, path = '$'): KeyTransition {
  const bad = (message: string): never => {
    throw new KeyHistoryError('malformed_transition', path, message);
  };
  const lines = text.split('\n');
  if (lines.length !== 6 || lines[5] !== '') bad('a key transition has exactly five lines');
  const [header, origin, oldLine, newLine, fromLine] = lines as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (header !== KEY_TRANSITION_HEADER) bad(`first line must be ${KEY_TRANSITION_HEADER}`);
  try {
    parseOrigin(origin);
  } catch (err) {
    bad(`not an AgDR log origin: ${(err as Error).message}`);
  }
  const key = (line: string, word: 'old' | 'new'): { version: number; key: NoteVerifier } => {
    const parts = line.split(' ');
    if (parts.length !== 3 || parts[0] !== word || !VERSION.test(parts[1] as string))
      return bad(`expected '${word} <version> <verifier key>'`);
    let verifier: NoteVerifier;
    try {
      verifier = parseVerifierKey(parts[2] as string);
    } catch (err) {
      return bad(`${word} key: ${(err as Error).message}`);
    }
    if (verifier.name !== origin) bad(`${word} key is named '${verifier.name}', not the origin`);
    return { version: Number(parts[1]), key: verifier };
  };
  const o = key(oldLine, 'old');
  const n = key(newLine, 'new');
  if (n.version <= o.version) bad('the new version must be greater than the old one');
  if (n.key.keyId === o.key.keyId) bad('the new key must differ from the old one');
  if (!fromLine.startsWith('valid_from_ns ')) bad("expected 'valid_from_ns <decimal>'");
  const from = fromLine.slice('valid_from_ns '.length);
  if (!isCanonicalU64(from)) bad('valid_from_ns must be an unsigned 64-bit decimal');
  const validFromNs = BigInt(from);
  const t: KeyTransition = {
    origin,
    oldVersion: o.version,
    oldKey: oldLine.split(' ')[2] as string,
    newVersion: n.version,
    newKey: newLine.split(' ')[2] as string,
    validFromNs,
  };
  if (formatKeyTransition(t) !== text) bad('key transition text is not in canonical form');
  return t;
}

/**
 * Signs the transition from `oldSigner`'s key to `newSigner`'s (same name: the origin) as of
 * `validFromNs`: the old key signs first, then the new one.
 */
export function signKeyTransition(
  oldSigner: Signer,
  newSigner: Signer,
  validFromNs: bigint,
): Promise<string> {
  const t: KeyTransition = {
    origin: oldSigner.name,
    oldVersion: oldSigner.keyVersion,
    oldKey: verifierKeyString(oldSigner.name, oldSigner.publicKey),
    newVersion: newSigner.keyVersion,
    newKey: verifierKeyString(newSigner.name, newSigner.publicKey),
    validFromNs,
  };
  // Both names must be the origin: parsing checks that, and the rest of the form.
  parseKeyTransition(formatKeyTransition(t));
  return signNote(formatKeyTransition(t), [oldSigner, newSigner]);
}

/**
 * Opens a signed transition: its text must parse, and it must carry a valid signature by the
 * old key and one by the new key (both named in the text itself). Says nothing about whether
 * the old key is trusted: that is the chain's job (followKeyHistory).
 */
export function openKeyTransition(note: string, path = '$'): KeyTransition {
  let text: string;
  try {
    text = parseNote(note).text;
  } catch (err) {
    throw new KeyHistoryError('malformed_transition', path, (err as Error).message);
  }
  const t = parseKeyTransition(text, path);
  const oldKey = parseVerifierKey(t.oldKey);
  const newKey = parseVerifierKey(t.newKey);
  let verified: readonly { keyId: number }[];
  try {
    verified = openNote(note, [oldKey, newKey]).verified;
  } catch (err) {
    throw new KeyHistoryError('invalid_signature', path, (err as Error).message);
  }
  for (const [which, k] of [
    ['old', oldKey],
    ['new', newKey],
  ] as const) {
    if (!verified.some((s) => s.keyId === k.keyId))
      throw new KeyHistoryError('invalid_signature', path, `no signature by the ${which} key`);
  }
  return t;
}

/** Checks the structure of a parsed key history document (not its signatures: the chain's). */
export function checkKeyHistory(value: unknown): KeyHistory {
  const bad = (path: string, message: string): never => {
    throw new KeyHistoryError('malformed_history', path, message);
  };
  const object = (v: unknown, path: string, keys: string[]): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'must be an object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`${path}.${k}`, 'unknown member');
    return o;
  };
  const v = object(value, '$', ['format', 'origin', 'first', 'transitions']);
  if (v.format !== KEY_HISTORY_FORMAT) bad('$.format', `must be "${KEY_HISTORY_FORMAT}"`);
  const origin = v.origin;
  if (typeof origin !== 'string') return bad('$.origin', 'must be a log origin');
  try {
    parseOrigin(origin);
  } catch (err) {
    bad('$.origin', (err as Error).message);
  }
  const first = object(v.first, '$.first', ['version', 'verifier_key']);
  if (!Number.isSafeInteger(first.version) || (first.version as number) < 1)
    bad('$.first.version', 'must be a key version (an integer from 1)');
  if (typeof first.verifier_key !== 'string')
    return bad('$.first.verifier_key', 'must be a verifier key');
  try {
    if (parseVerifierKey(first.verifier_key).name !== origin)
      throw new Error('not named after the origin');
  } catch (err) {
    bad('$.first.verifier_key', (err as Error).message);
  }
  if (!Array.isArray(v.transitions)) return bad('$.transitions', 'must be an array');
  v.transitions.forEach((t, i) => {
    // A transition of another log would be followed as that log's: refuse it here.
    if (typeof t !== 'string' || t.split('\n')[1] !== origin)
      bad(`$.transitions[${i}]`, `must be a signed key transition of ${origin}`);
  });
  return {
    format: KEY_HISTORY_FORMAT,
    origin,
    first: { version: first.version as number, verifier_key: first.verifier_key },
    transitions: v.transitions as string[],
  };
}

/** Every verifier key a history names, first key first (for a bundle's `keys`). */
export function keyHistoryKeys(history: KeyHistory): string[] {
  return [
    history.first.verifier_key,
    ...history.transitions.map((note, i) => openKeyTransition(note, `$.transitions[${i}]`).newKey),
  ];
}

/**
 * Follows key histories from trusted keys. `trusted` are the keys the verifier trusts to begin
 * with (a log's first key, or a whole trust bundle); `transitions` are signed transition notes,
 * in order per origin (histories of several logs may be interleaved). Each log's chain starts
 * at a trusted key of its origin, and each transition must start from the key the previous one
 * introduced, be signed by both keys, take effect after the previous one, and fall inside the
 * old key's own trusted window.
 *
 * Returns the trusted keys with every key a chain introduces: a key's window runs from its
 * transition's `valid_from_ns` to the next transition's (or, for the last key, to the end of
 * the window of the key the chain started from), and each superseded key's window is cut at its
 * successor's `valid_from_ns`. Throws KeyHistoryError naming the first transition that fails.
 */
export function followKeyHistory(
  trusted: readonly TrustAnchor[],
  transitions: readonly string[],
  path = '$.transitions',
): TrustAnchor[] {
  const out = trusted.map((a) => ({ ...a }));
  // Per origin: the entry of the key the chain has reached.
  const current = new Map<string, TrustAnchor & { version?: number }>();
  transitions.forEach((note, i) => {
    const at = `${path}[${i}]`;
    const t = openKeyTransition(note, at);
    let head = current.get(t.origin);
    if (head === undefined) {
      head = out.find((a) => a.origin === t.origin && a.verifier_key === t.oldKey);
      if (head === undefined) {
        throw new KeyHistoryError(
          'untrusted_start',
          at,
          `the first transition of ${t.origin} starts from version ${t.oldVersion} (${t.oldKey}), which is not a trusted key of that log`,
        );
      }
    } else if (head.verifier_key !== t.oldKey) {
      throw new KeyHistoryError(
        'broken_chain',
        at,
        `transition from version ${t.oldVersion} (${t.oldKey}), but the chain of ${t.origin} is at ${head.version !== undefined ? `version ${head.version} ` : ''}(${head.verifier_key})`,
      );
    }
    const from = BigInt(head.valid_from_ns);
    if (t.validFromNs <= from) {
      throw new KeyHistoryError(
        'out_of_order',
        at,
        `valid_from_ns ${t.validFromNs} is not after ${from}, when version ${t.oldVersion} took effect`,
      );
    }
    const until = head.valid_until_ns;
    if (until !== null && t.validFromNs > BigInt(until)) {
      throw new KeyHistoryError(
        'expired_key',
        at,
        `version ${t.oldVersion} was valid only until ${until}, before this transition at ${t.validFromNs}`,
      );
    }
    head.valid_until_ns = t.validFromNs.toString();
    const next: TrustAnchor & { version?: number } = {
      role: head.role,
      ...(head.shard_id !== undefined ? { shard_id: head.shard_id } : {}),
      origin: t.origin,
      verifier_key: t.newKey,
      valid_from_ns: t.validFromNs.toString(),
      valid_until_ns: until,
    };
    out.push(next);
    current.set(t.origin, Object.assign(next, { version: t.newVersion }));
  });
  // The chain bookkeeping (`version`) stays inside.
  return out.map(({ role, shard_id, origin, verifier_key, valid_from_ns, valid_until_ns }) => ({
    role,
    ...(shard_id !== undefined ? { shard_id } : {}),
    origin,
    verifier_key,
    valid_from_ns,
    valid_until_ns,
  }));
}

/**
 * The trust entry of a log's first key, trusted from the beginning of time until further notice
 * (a chain cuts it at the first transition). Role and shard id come from the key's name.
 */
export function firstKeyAnchor(verifierKey: string): TrustAnchor {
  const name = parseVerifierKey(verifierKey).name;
  const o = parseOrigin(name);
  return {
    role: o.kind,
    ...(o.kind === 'shard' ? { shard_id: o.shard } : {}),
    origin: name,
    verifier_key: verifierKey,
    valid_from_ns: '0',
    valid_until_ns: null,
  };
}
