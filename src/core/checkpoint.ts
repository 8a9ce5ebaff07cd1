// C2SP tlog-checkpoint note text (c2sp.org/tlog-checkpoint), with AgDR's extension lines:
//
//   <origin>
//   <tree size, decimal, no leading zeros>
//   <base64 root hash>
//   timestamp_ns <decimal u64>      (optional) when the log signed, ns since the Unix epoch
//   routing_epoch <decimal>         (optional) the routing epoch in force at that time
//   <other extension lines>         (optional, opaque, non-empty)
//
// The AgDR lines come first, in that order. Parsing is strict: the text must be exactly what
// formatCheckpoint would produce for the parsed value.
import { CodedError } from './errors.ts';
import { fromBase64, toBase64 } from './bytes.ts';
import { openNote, parseNote, signNote, type NoteVerifier, type VerifierSet } from './note.ts';
import type { Signer } from './signer.ts';

export type CheckpointErrorCode =
  'malformed_checkpoint' | 'invalid_origin' | 'origin_mismatch' | 'wrong_signer';

export class CheckpointError extends CodedError<CheckpointErrorCode> {
  override name = 'CheckpointError';
}

export interface Checkpoint {
  /** The log's identity; also the key name of its signature. */
  readonly origin: string;
  /** Number of leaves. */
  readonly size: number;
  /** The RFC 9162 root at `size` (32 bytes). */
  readonly rootHash: Uint8Array;
  /** AgDR extension: signing time, ns since the Unix epoch. */
  readonly timestampNs?: bigint;
  /** AgDR extension: routing epoch in force when signed. */
  readonly routingEpoch?: number;
  /** Further extension lines, verbatim, after the AgDR ones. */
  readonly extensions?: readonly string[];
}

const TIMESTAMP = 'timestamp_ns ';
const ROUTING_EPOCH = 'routing_epoch ';
/** Extension lines whose first word is one of these are AgDR's, parsed strictly. */
const RESERVED = new Set(['timestamp_ns', 'routing_epoch']);
const firstWord = (line: string): string => line.split(' ', 1)[0] as string;
const U64_MAX = 2n ** 64n - 1n;
const DECIMAL = /^(0|[1-9][0-9]*)$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f]/;

function bad(message: string): CheckpointError {
  return new CheckpointError('malformed_checkpoint', message);
}

function checkLine(what: string, line: string): void {
  if (line.length === 0 || CONTROL.test(line) || !line.isWellFormed()) {
    throw bad(`${what} must be a non-empty line of text`);
  }
}

/** The checkpoint note text (ends in a newline). */
export function formatCheckpoint(cp: Checkpoint): string {
  checkLine('origin', cp.origin);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw bad(`invalid tree size ${cp.size}`);
  if (cp.rootHash.length !== 32) throw bad('root hash must be 32 bytes');
  let text = `${cp.origin}\n${cp.size}\n${toBase64(cp.rootHash)}\n`;
  if (cp.timestampNs !== undefined) {
    if (cp.timestampNs < 0n || cp.timestampNs > U64_MAX) throw bad('timestamp_ns out of range');
    text += `${TIMESTAMP}${cp.timestampNs}\n`;
  }
  if (cp.routingEpoch !== undefined) {
    if (!Number.isSafeInteger(cp.routingEpoch) || cp.routingEpoch < 0)
      throw bad('invalid routing epoch');
    text += `${ROUTING_EPOCH}${cp.routingEpoch}\n`;
  }
  for (const line of cp.extensions ?? []) {
    checkLine('extension line', line);
    if (RESERVED.has(firstWord(line))) {
      throw bad(`extension line '${line}' must be given as a field`);
    }
    text += `${line}\n`;
  }
  return text;
}

/** Parses checkpoint note text strictly (see the module comment). */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw bad('checkpoint text must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('checkpoint needs origin, size and root lines');
  const [origin, sizeLine, rootLine, ...rest] = lines as [string, string, string, ...string[]];
  checkLine('origin', origin);
  if (!DECIMAL.test(sizeLine))
    throw bad('tree size must be a decimal number without leading zeros');
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw bad('tree size too large');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootLine);
  } catch {
    throw bad('root hash is not valid base64');
  }
  if (rootHash.length !== 32) throw bad('root hash must be 32 bytes');

  let timestampNs: bigint | undefined;
  let routingEpoch: number | undefined;
  let i = 0;
  let line = rest[i];
  if (line !== undefined && firstWord(line) === 'timestamp_ns') {
    const v = line.slice(TIMESTAMP.length);
    if (!line.startsWith(TIMESTAMP) || !DECIMAL.test(v) || BigInt(v) > U64_MAX) {
      throw bad('timestamp_ns must be a decimal u64');
    }
    timestampNs = BigInt(v);
    line = rest[++i];
  }
  if (line !== undefined && firstWord(line) === 'routing_epoch') {
    const v = line.slice(ROUTING_EPOCH.length);
    if (!line.startsWith(ROUTING_EPOCH) || !DECIMAL.test(v) || !Number.isSafeInteger(Number(v))) {
      throw bad('routing_epoch must be a decimal number');
    }
    routingEpoch = Number(v);
    i++;
  }
  const extensions = rest.slice(i);
  const cp: Checkpoint = {
    origin,
    size,
    rootHash,
    ...(timestampNs !== undefined ? { timestampNs } : {}),
    ...(routingEpoch !== undefined ? { routingEpoch } : {}),
    ...(extensions.length > 0 ? { extensions } : {}),
  };
  // Rejects repeated or misplaced AgDR lines, empty lines and anything else non-canonical.
  if (formatCheckpoint(cp) !== text) throw bad('checkpoint text is not in canonical form');
  return cp;
}

/**
 * The checkpoint a signed note carries, both parsed strictly, without verifying any signature
 * (for notes this process stored or will check elsewhere; `verifyCheckpoint` for foreign ones).
 * Throws NoteError or CheckpointError.
 */
export function parseCheckpointNote(note: string | Uint8Array): Checkpoint {
  return parseCheckpoint(parseNote(note).text);
}

/** Signs a checkpoint as a signed note; the first signer is the log itself (name = origin). */
export async function signCheckpoint(
  cp: Checkpoint,
  signer: Signer,
  ...cosigners: Signer[]
): Promise<string> {
  if (signer.name !== cp.origin) {
    throw new CheckpointError(
      'wrong_signer',
      `log key name '${signer.name}' is not the origin '${cp.origin}'`,
    );
  }
  return signNote(formatCheckpoint(cp), [signer, ...cosigners]);
}

/**
 * Opens a signed checkpoint: the note must verify under `verifiers` (unknown keys ignored), the
 * origin must be `expectedOrigin`, and a key named after the origin must have signed it.
 */
export function verifyCheckpoint(
  note: string | Uint8Array,
  verifiers: VerifierSet | Iterable<NoteVerifier | string>,
  expectedOrigin: string,
): Checkpoint {
  const opened = openNote(note, verifiers);
  const cp = parseCheckpoint(opened.text);
  if (cp.origin !== expectedOrigin) {
    throw new CheckpointError(
      'origin_mismatch',
      `checkpoint origin '${cp.origin}', want '${expectedOrigin}'`,
    );
  }
  if (!opened.verified.some((s) => s.name === cp.origin)) {
    throw new CheckpointError(
      'wrong_signer',
      'no verified signature from the log key named after the origin',
    );
  }
  return cp;
}

// Origins: agdr.dev/<namespace>/<cluster>/shard-<i> and agdr.dev/<namespace>/<cluster>/coordinator.
// Namespace and cluster are Kubernetes object names (lowercase DNS names).
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const ORIGIN = /^agdr\.dev\/([^/]+)\/([^/]+)\/(coordinator|shard-(0|[1-9][0-9]*))$/;

function checkNames(namespace: string, cluster: string): void {
  if (!NAME.test(namespace))
    throw new CheckpointError('invalid_origin', `invalid namespace '${namespace}'`);
  if (!NAME.test(cluster))
    throw new CheckpointError('invalid_origin', `invalid cluster name '${cluster}'`);
}

export function shardOrigin(namespace: string, cluster: string, shard: number): string {
  checkNames(namespace, cluster);
  if (!Number.isSafeInteger(shard) || shard < 0)
    throw new CheckpointError('invalid_origin', `invalid shard ${shard}`);
  return `agdr.dev/${namespace}/${cluster}/shard-${shard}`;
}

export function coordinatorOrigin(namespace: string, cluster: string): string {
  checkNames(namespace, cluster);
  return `agdr.dev/${namespace}/${cluster}/coordinator`;
}

export type AgdrOrigin =
  | {
      readonly kind: 'shard';
      readonly namespace: string;
      readonly cluster: string;
      readonly shard: number;
    }
  | { readonly kind: 'coordinator'; readonly namespace: string; readonly cluster: string };

/** Parses an AgDR origin; throws CheckpointError('invalid_origin') for anything else. */
export function parseOrigin(origin: string): AgdrOrigin {
  const m = ORIGIN.exec(origin);
  if (m === null) throw new CheckpointError('invalid_origin', `not an AgDR origin: '${origin}'`);
  const [, namespace, cluster, last, shard] = m as unknown as [
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  checkNames(namespace, cluster);
  if (last === 'coordinator') return { kind: 'coordinator', namespace, cluster };
  const n = Number(shard);
  if (!Number.isSafeInteger(n))
    throw new CheckpointError('invalid_origin', `invalid shard in '${origin}'`);
  return { kind: 'shard', namespace, cluster, shard: n };
}
