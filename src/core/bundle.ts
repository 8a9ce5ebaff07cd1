// Evidence bundles ("court production"): everything needed to show, offline, that one decision
// record is in a shard log, that the shard's checkpoint was sealed into a signed global root,
// and that the record was routed to that shard by the routing epoch in force.
//
// A bundle file is the RFC 8785 canonical JSON of the bundle (optionally followed by one
// newline), so every byte of it is covered by some check. See docs/spec/60-evidence-bundles.md.
import { FieldError } from './errors.ts';
import { concatBytes, fromHex, toBase64, toHex, utf8 } from './bytes.ts';
import { parseCheckpoint, parseOrigin, type Checkpoint } from './checkpoint.ts';
import { validateDecision, type Decision } from './decision.ts';
import { decodeEnvelope } from './envelope.ts';
import {
  checkGlobalLogRecord,
  globalLogEntryBytes,
  verifyGlobalRootRecord,
  verifyShardEntryInclusion,
  type GlobalRootRecord,
  type ShardEntry,
  type ShardEntryProof,
} from './global-root/index.ts';
import { blake3 } from './hash.ts';
import { canonicalJson } from './jcs.ts';
import { shapeChecks, type ShapeChecks } from './json-shape.ts';
import { verifyConsistency, verifyInclusion } from './merkle/proof.ts';
import { openNote, parseNote, parseVerifierKey, VerifierSet, type NoteVerifier } from './note.ts';
import { epochTableHash, routeDecision, validateEpochTable, type EpochTable } from './routing.ts';

export const BUNDLE_FORMAT = 'agdr-evidence-bundle/v1';

export interface EvidenceBundle {
  format: typeof BUNDLE_FORMAT;
  /** The leaf data: the canonical envelope JSON text, exactly the bytes the shard hashed. */
  envelope: string;
  shard: {
    /** The shard log origin; its shard number is the envelope's shard. */
    origin: string;
    /** A signed shard checkpoint whose tree contains the record (leaf index = envelope seq). */
    checkpoint: string;
    /** RFC 9162 inclusion proof of the record in `checkpoint`, lowercase hex. */
    inclusion_proof: string[];
  };
  seal: {
    /** The global root record that sealed this shard at or after `shard.checkpoint`. */
    record: GlobalRootRecord;
    /** Consistency proof from shard.checkpoint to the sealed checkpoint (empty if the same). */
    consistency_proof: string[];
    /** The shard entry's inclusion proof in the record's Root Merkle Tree. */
    entry_proof: ShardEntryProof;
  };
  routing: {
    /** The epoch table whose hash is the record's routing_epoch_hash. */
    epoch_table: EpochTable;
  };
  /** Optional: the global root record's inclusion in a signed global log checkpoint. */
  global_log: { index: number; checkpoint: string; inclusion_proof: string[] } | null;
  /** C2SP verifier keys of the shard and the coordinator. */
  keys: string[];
}

export interface BundleCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface BundleReport {
  ok: boolean;
  checks: BundleCheck[];
  /** Verifier keys (C2SP strings) whose signatures were verified. */
  keysUsed: string[];
}

/**
 * A pinned key as a trust bundle lists it (the coordinator's `GET /v1/keys`): the log it signs
 * for and when it may sign, `[valid_from_ns, valid_until_ns)` (until: null while current).
 */
export interface TrustAnchor {
  role: 'shard' | 'coordinator';
  /** For a shard key: the shard its origin names. */
  shard_id?: number;
  origin: string;
  verifier_key: string;
  valid_from_ns: string;
  valid_until_ns: string | null;
}

export interface VerifyBundleOptions {
  /** Verifier keys the caller trusts; every key in the bundle must be one of them. */
  trustedKeys?: string[];
  /**
   * Pinned keys with their bindings: every key in the bundle must be one of them, and every
   * signature must be by a key whose entry names the signed log's origin (and, for a shard, its
   * shard id) and whose validity window holds the signed time (the checkpoint's `timestamp_ns`,
   * the global root record's `timestamp_ns`).
   */
  trust?: TrustAnchor[];
}

export class BundleError extends FieldError<'invalid_bundle'> {
  override name = 'BundleError';
  constructor(path: string, message: string) {
    super('invalid_bundle', path, message);
  }
}

/** The bundle file bytes: canonical JSON and a newline. */
export function serializeBundle(bundle: EvidenceBundle): Uint8Array {
  return utf8.encode(`${canonicalJson(bundle)}\n`);
}

/**
 * Parses bundle file bytes (or text) strictly: UTF-8, canonical JSON (one optional final
 * newline), and the bundle structure. Throws BundleError.
 */
export function parseBundle(input: Uint8Array | string): EvidenceBundle {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new BundleError('$', 'bundle is not valid UTF-8');
    }
  }
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new BundleError('$', `bundle is not JSON: ${(err as Error).message}`);
  }
  if (canonicalJson(value) !== body) {
    throw new BundleError('$', 'bundle is not in canonical JSON form (RFC 8785)');
  }
  return checkBundle(value);
}

/** Checks the structure of a bundle value (types and members); throws BundleError. */
export function checkBundle(value: unknown): EvidenceBundle {
  const b = obj(value, '$');
  members(b, ['format', 'envelope', 'shard', 'seal', 'routing', 'global_log', 'keys'], '$');
  if (b.format !== BUNDLE_FORMAT) throw new BundleError('$.format', `must be "${BUNDLE_FORMAT}"`);
  str(b.envelope, '$.envelope');
  const shard = obj(b.shard, '$.shard');
  members(shard, ['origin', 'checkpoint', 'inclusion_proof'], '$.shard');
  str(shard.origin, '$.shard.origin');
  str(shard.checkpoint, '$.shard.checkpoint');
  hexList(shard.inclusion_proof, '$.shard.inclusion_proof');
  const seal = obj(b.seal, '$.seal');
  members(seal, ['record', 'consistency_proof', 'entry_proof'], '$.seal');
  obj(seal.record, '$.seal.record');
  hexList(seal.consistency_proof, '$.seal.consistency_proof');
  const ep = obj(seal.entry_proof, '$.seal.entry_proof');
  members(ep, ['shard_id', 'leaf_index', 'tree_size', 'proof'], '$.seal.entry_proof');
  for (const k of ['shard_id', 'leaf_index', 'tree_size']) nat(ep[k], `$.seal.entry_proof.${k}`);
  hexList(ep.proof, '$.seal.entry_proof.proof');
  const routing = obj(b.routing, '$.routing');
  members(routing, ['epoch_table'], '$.routing');
  if (b.global_log !== null) {
    const g = obj(b.global_log, '$.global_log');
    members(g, ['index', 'checkpoint', 'inclusion_proof'], '$.global_log');
    nat(g.index, '$.global_log.index');
    str(g.checkpoint, '$.global_log.checkpoint');
    hexList(g.inclusion_proof, '$.global_log.inclusion_proof');
  }
  if (!Array.isArray(b.keys) || b.keys.length === 0) {
    throw new BundleError('$.keys', 'must be a non-empty array of verifier keys');
  }
  b.keys.forEach((k: unknown, i: number) => str(k, `$.keys[${i}]`));
  return b as unknown as EvidenceBundle;
}

/**
 * Verifies a bundle offline. Never throws: every failure is a failed check with the reason.
 * `input` is the bundle file (bytes or text) or an already-parsed bundle value.
 */
export function verifyBundle(input: unknown, opts: VerifyBundleOptions = {}): BundleReport {
  const v = new Verification();
  const bundle = v.step('bundle', () => {
    const b =
      input instanceof Uint8Array || typeof input === 'string'
        ? parseBundle(input)
        : checkBundle(input);
    return { value: b, detail: `format ${BUNDLE_FORMAT}, canonical JSON` };
  });
  if (bundle === undefined) return v.report();

  const keys = v.step('keys', () => {
    const verifiers = bundle.keys.map((k, i) => {
      try {
        return { text: k, verifier: parseVerifierKey(k) };
      } catch (err) {
        throw new BundleError(`$.keys[${i}]`, (err as Error).message);
      }
    });
    const set = new VerifierSet(verifiers.map((x) => x.verifier));
    const pinned = opts.trust?.map((a) => a.verifier_key) ?? opts.trustedKeys;
    if (pinned !== undefined) {
      const trusted = new Set(pinned);
      const untrusted = bundle.keys.filter((k) => !trusted.has(k));
      if (untrusted.length > 0)
        throw new Error(`keys not in the trusted set: ${untrusted.join(', ')}`);
    }
    const detail =
      pinned === undefined
        ? `${bundle.keys.length} keys taken from the bundle itself (no trusted keys given: this shows consistency, not who signed)`
        : `${bundle.keys.length} keys, all in the trusted set`;
    return { value: { set, verifiers }, detail };
  });

  const envelope = v.step('envelope', () => {
    const bytes = utf8.encode(bundle.envelope);
    const decoded = decodeEnvelope(bytes);
    const leafHash = blake3.hashLeaf(bytes);
    const m = decoded.meta;
    return {
      value: { decoded, bytes, leafHash },
      detail: `canonical envelope: shard ${m.shard}, seq ${m.seq}, epoch ${m.routing.epoch}, leaf hash ${toHex(leafHash)}`,
    };
  });

  const decision = v.step('decision', () => {
    const d = need(envelope, 'envelope').decoded.decision;
    const problems = validateDecision(d);
    if (problems.length > 0) {
      const p = problems[0] as { path: string; message: string };
      throw new Error(`not a valid AgDR v0.2 decision: ${p.path}: ${p.message}`);
    }
    const decisionValue = d as Decision;
    return { value: decisionValue, detail: `record_id ${decisionValue.record_id}` };
  });

  const shardCp = v.step('shard_checkpoint', () => {
    const env = need(envelope, 'envelope');
    const k = need(keys, 'keys');
    const origin = parseOrigin(bundle.shard.origin);
    if (origin.kind !== 'shard' || origin.shard !== env.decoded.meta.shard) {
      throw new Error(`origin ${bundle.shard.origin} is not shard ${env.decoded.meta.shard}`);
    }
    const opened = openLogNote(bundle.shard.checkpoint, bundle.shard.origin, k);
    const pin = pinnedAt(
      opts.trust,
      opened.key,
      bundle.shard.origin,
      opened.checkpoint.timestampNs,
    );
    v.use(opened.key);
    return {
      value: opened.checkpoint,
      detail: `${bundle.shard.origin} size ${opened.checkpoint.size} signed by ${opened.key}${pin}`,
    };
  });

  v.step('record_inclusion', () => {
    const env = need(envelope, 'envelope');
    const cp = need(shardCp, 'shard_checkpoint');
    const proof = bundle.shard.inclusion_proof.map(unhex);
    verifyInclusion(blake3, env.decoded.meta.seq, cp.size, env.leafHash, proof, cp.rootHash);
    return {
      value: true,
      detail: `leaf ${env.decoded.meta.seq} in tree of ${cp.size} (${proof.length} hashes)`,
    };
  });

  const record = v.step('global_root_signature', () => {
    const k = need(keys, 'keys');
    const r = checkGlobalLogRecord(bundle.seal.record);
    if (r.type !== 'global_root') throw new Error('seal.record is not a global root record');
    const coordinator = parseOrigin(r.signature.key_name);
    const shard = parseOrigin(bundle.shard.origin);
    if (
      coordinator.kind !== 'coordinator' ||
      coordinator.namespace !== shard.namespace ||
      coordinator.cluster !== shard.cluster
    ) {
      throw new Error(`${r.signature.key_name} is not the coordinator of ${bundle.shard.origin}`);
    }
    const result = verifyGlobalRootRecord(r, k.set);
    const key = keyText(k.verifiers, r.signature.key_name, r.signature.key_id);
    const pin = pinnedAt(opts.trust, key, r.signature.key_name, BigInt(r.timestamp_ns));
    v.use(key);
    return {
      value: r,
      detail: `global root ${r.global_root_id} (tree recomputed, totals add up) signed by ${result.key} v${r.signature.key_version}${pin}`,
    };
  });

  const sealed = v.step('sealed_checkpoint', () => {
    const env = need(envelope, 'envelope');
    const cp = need(shardCp, 'shard_checkpoint');
    const r = need(record, 'global_root_signature');
    const k = need(keys, 'keys');
    const index = r.shard_roots.findIndex((e) => e.shard_id === env.decoded.meta.shard);
    const entry = r.shard_roots[index];
    if (entry === undefined)
      throw new Error(`global root has no entry for shard ${env.decoded.meta.shard}`);
    if (entry.status !== 'ok' || entry.checkpoint === null) {
      throw new Error(`shard entry status is ${entry.status}: ${entry.reason ?? ''}`);
    }
    if (entry.origin !== bundle.shard.origin) throw new Error('shard entry origin differs');
    const opened = openLogNote(entry.checkpoint, entry.origin, k);
    pinnedAt(opts.trust, opened.key, entry.origin, opened.checkpoint.timestampNs);
    v.use(opened.key);
    const target = opened.checkpoint;
    const proof = bundle.seal.consistency_proof.map(unhex);
    if (target.size < cp.size) {
      throw new Error(
        `sealed size ${target.size} is smaller than the bundle checkpoint ${cp.size}`,
      );
    }
    verifyConsistency(blake3, cp.size, target.size, proof, cp.rootHash, target.rootHash);
    return {
      value: { entry, index },
      detail:
        target.size === cp.size
          ? `sealed exactly this checkpoint (size ${cp.size})`
          : `sealed size ${target.size}; consistent with size ${cp.size} (${proof.length} hashes)`,
    };
  });

  v.step('root_tree_inclusion', () => {
    const r = need(record, 'global_root_signature');
    const s = need(sealed, 'sealed_checkpoint');
    const p = bundle.seal.entry_proof;
    if (p.shard_id !== s.entry.shard_id || p.leaf_index !== s.index) {
      throw new Error(`entry proof is for shard ${p.shard_id} at ${p.leaf_index}`);
    }
    if (p.tree_size !== r.shard_roots.length) throw new Error('entry proof tree size differs');
    verifyShardEntryInclusion(r, s.entry as ShardEntry, p);
    return {
      value: true,
      detail: `shard entry ${p.leaf_index} of ${p.tree_size} leads to global_merkle_root ${r.global_merkle_root}`,
    };
  });

  v.step('routing', () => {
    const env = need(envelope, 'envelope');
    const d = need(decision, 'decision');
    const r = need(record, 'global_root_signature');
    const table = validateEpochTable(bundle.routing.epoch_table);
    const hash = epochTableHash(table);
    if (hash !== r.routing_epoch_hash) {
      throw new Error(`epoch table hash ${hash} is not the record's routing_epoch_hash`);
    }
    const got = routeDecision(d, table);
    const want = env.decoded.meta;
    if (
      got.shard !== want.shard ||
      got.epoch !== want.routing.epoch ||
      got.key !== want.routing.key ||
      got.pointer !== want.routing.pointer ||
      got.strategy !== want.routing.strategy
    ) {
      throw new Error(
        `decision routes to shard ${got.shard} (epoch ${got.epoch}, ${got.strategy}, key ${JSON.stringify(got.key)}), the envelope says shard ${want.shard} (epoch ${want.routing.epoch}, ${want.routing.strategy}, key ${JSON.stringify(want.routing.key)})`,
      );
    }
    return {
      value: true,
      detail:
        got.pointer === null
          ? `epoch ${got.epoch} (${got.strategy}) puts a decision without a key on its default shard ${got.shard}`
          : `epoch ${got.epoch} (${got.strategy}) puts key ${JSON.stringify(got.key)} (from ${got.pointer}) on shard ${got.shard}`,
    };
  });

  v.step('global_log_inclusion', () => {
    const g = bundle.global_log;
    if (g === null) return { value: true, detail: 'not included (optional)' };
    const r = need(record, 'global_root_signature');
    const k = need(keys, 'keys');
    const opened = openLogNote(g.checkpoint, r.signature.key_name, k);
    pinnedAt(opts.trust, opened.key, r.signature.key_name, opened.checkpoint.timestampNs);
    v.use(opened.key);
    const leaf = blake3.hashLeaf(globalLogEntryBytes(r));
    verifyInclusion(
      blake3,
      g.index,
      opened.checkpoint.size,
      leaf,
      g.inclusion_proof.map(unhex),
      opened.checkpoint.rootHash,
    );
    return {
      value: true,
      detail: `global root record is entry ${g.index} of the global log at size ${opened.checkpoint.size}`,
    };
  });

  return v.report();
}

// ------------------------------------------------------------------ verification plumbing

class Verification {
  readonly checks: BundleCheck[] = [];
  readonly keysUsed: string[] = [];

  /** Runs one check; its failure (any thrown error) is recorded, never rethrown. */
  step<T>(name: string, fn: () => { value: T; detail: string }): T | undefined {
    try {
      const { value, detail } = fn();
      this.checks.push({ name, ok: true, detail });
      return value;
    } catch (err) {
      const detail =
        err instanceof Dependency ? `not checked: ${err.message} failed` : errorText(err);
      this.checks.push({ name, ok: false, detail });
      return undefined;
    }
  }

  use(key: string): void {
    if (!this.keysUsed.includes(key)) this.keysUsed.push(key);
  }

  report(): BundleReport {
    return {
      ok: this.checks.length > 0 && this.checks.every((c) => c.ok),
      checks: this.checks,
      keysUsed: this.keysUsed,
    };
  }
}

class Dependency extends Error {}

function need<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Dependency(name);
  return value;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

interface KeyRing {
  set: VerifierSet;
  verifiers: { text: string; verifier: NoteVerifier }[];
}

function keyText(verifiers: KeyRing['verifiers'], name: string, keyIdHex: string): string {
  const found = verifiers.find(
    (x) => x.verifier.name === name && x.verifier.keyId.toString(16).padStart(8, '0') === keyIdHex,
  );
  return found?.text ?? `${name}+${keyIdHex}`;
}

/**
 * Opens a log's signed checkpoint: canonical note, a verified signature by the key named after
 * the origin, and the expected origin. Returns the checkpoint and the verifier key used.
 */
function openLogNote(
  note: string,
  origin: string,
  keys: KeyRing,
): { checkpoint: Checkpoint; key: string } {
  assertCanonicalNote(note);
  const opened = openNote(note, keys.set);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== origin) {
    throw new Error(`checkpoint origin ${checkpoint.origin}, want ${origin}`);
  }
  const sig = opened.verified.find((s) => s.name === origin);
  if (sig === undefined) throw new Error(`no verified signature by the ${origin} key`);
  return {
    checkpoint,
    key: keyText(keys.verifiers, origin, sig.keyId.toString(16).padStart(8, '0')),
  };
}

/**
 * With pinned keys: checks that `key` may sign for `origin` at `atNs` (an entry of `trust` with
 * that key binds it to that origin, and to its shard id, and its window holds the time); throws
 * why not. Returns a note for the check's detail ('' without pinned keys).
 */
function pinnedAt(
  trust: TrustAnchor[] | undefined,
  key: string,
  origin: string,
  atNs: bigint | undefined,
): string {
  if (trust === undefined) return '';
  const entries = trust.filter((a) => a.verifier_key === key);
  if (entries.length === 0) throw new Error(`key ${key} is not pinned`);
  const o = parseOrigin(origin);
  const bound = entries.filter(
    (a) =>
      a.origin === origin &&
      (o.kind === 'shard'
        ? a.role === 'shard' && a.shard_id === o.shard
        : a.role === 'coordinator'),
  );
  if (bound.length === 0) {
    const said = entries.map((a) => `${a.role} ${a.shard_id ?? ''} ${a.origin}`.replace('  ', ' '));
    throw new Error(`the trust bundle binds key ${key} to ${said.join('; ')}, not to ${origin}`);
  }
  const window = (a: TrustAnchor): string => `[${a.valid_from_ns}, ${a.valid_until_ns ?? '∞'})`;
  if (atNs === undefined) {
    if (bound.some((a) => a.valid_from_ns === '0' && a.valid_until_ns === null)) return '';
    throw new Error(
      `the signed text carries no timestamp_ns, so it cannot be placed in the key's validity ${bound.map(window).join(', ')}`,
    );
  }
  const valid = bound.some(
    (a) =>
      BigInt(a.valid_from_ns) <= atNs &&
      (a.valid_until_ns === null || atNs < BigInt(a.valid_until_ns)),
  );
  if (!valid) {
    throw new Error(
      `signed at ${atNs} ns, outside the validity of key ${key}: ${bound.map(window).join(', ')}`,
    );
  }
  return ', within its pinned validity';
}

/** A signed note with each signature in its one canonical base64 spelling. */
function assertCanonicalNote(note: string): void {
  const { text, signatures } = parseNote(note);
  let out = `${text}\n`;
  for (const s of signatures) {
    const id = new Uint8Array(4);
    new DataView(id.buffer).setUint32(0, s.keyId);
    out += `\u2014 ${s.name} ${toBase64(concatBytes(id, s.signature))}\n`;
  }
  if (out !== note) throw new Error('signed note is not in canonical form');
}

// ------------------------------------------------------------------ structure helpers

const shape = shapeChecks((path, message) => new BundleError(path, message));
const obj = shape.object;
const members = shape.members;
const str: ShapeChecks['text'] = shape.text;
const nat: ShapeChecks['index'] = shape.index;
const hexList = shape.hashList;
// Hex lists were checked to be lowercase 32-byte hashes by checkBundle.
const unhex = fromHex;
