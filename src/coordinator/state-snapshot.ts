// A snapshot of the coordinator's state at a global log size, so a restart replays only the
// entries after it instead of the whole history. The log stays the source of truth: a snapshot
// is used only if its digest checks and the log's root at its size is the root it names;
// otherwise the coordinator replays the whole log.
import { CodedError } from '../core/errors.ts';
import fs from 'node:fs';
import { fromHex, toHex, utf8 } from '../core/bytes.ts';
import { blake3 } from '../core/hash.ts';
import { canonicalJson } from '../core/jcs.ts';
import { writeFileDurably } from './durable-file.ts';
import { CoordinatorState, RootIndex } from './state.ts';
import type { MissedInterval, ReconstructionFact, ShardStatus } from './state.ts';

// /2 added sealed.checkpoint_ns; an older snapshot is refused, so the log is replayed instead.
export const SNAPSHOT_FORMAT = 'agdr-coordinator-state/2';

interface ShardJson {
  shard_id: number;
  sealed: {
    size: number;
    root: string;
    index: number;
    sealed_at_ns: string;
    checkpoint_ns: string | null;
  } | null;
  open: MissedInterval[];
  last_status: ShardStatus | null;
  last_reason: string | null;
  presence: { from: number; to: number }[];
}

interface SnapshotBody {
  format: typeof SNAPSHOT_FORMAT;
  /** Global log size the state covers, and the log's root at that size (hex). */
  size: number;
  log_root: string;
  root_index: { count: number; runs: { id: number; index: number }[] };
  last_root: { id: number; index: number; root: string; interval_end_ns: string } | null;
  shards: ShardJson[];
  reconstructions: ReconstructionFact[];
}

export class SnapshotError extends CodedError<'bad_snapshot'> {
  override name = 'SnapshotError';
  constructor(message: string) {
    super('bad_snapshot', message);
  }
}

function digestOf(body: SnapshotBody): string {
  return toHex(blake3.digest(utf8.encode(canonicalJson(body))));
}

export function snapshotOf(
  state: CoordinatorState,
  logRoot: Uint8Array,
): SnapshotBody & { digest: string } {
  const ids = new Set([...state.shards.keys(), ...state.presence.keys()]);
  const body: SnapshotBody = {
    format: SNAPSHOT_FORMAT,
    size: state.size,
    log_root: toHex(logRoot),
    root_index: { count: state.rootIndex.count, runs: state.rootIndex.runs.map((r) => ({ ...r })) },
    last_root: state.lastRoot ? { ...state.lastRoot } : null,
    shards: [...ids]
      .sort((a, b) => a - b)
      .map((id) => {
        const s = state.shards.get(id);
        return {
          shard_id: id,
          sealed: s?.sealed
            ? {
                size: s.sealed.size,
                root: toHex(s.sealed.root),
                index: s.sealed.index,
                sealed_at_ns: s.sealed.sealedAtNs,
                checkpoint_ns: s.sealed.checkpointNs ?? null,
              }
            : null,
          open: s?.open ?? [],
          last_status: s?.lastStatus ?? null,
          last_reason: s?.lastReason ?? null,
          presence: state.presence.get(id) ?? [],
        };
      }),
    reconstructions: state.reconstructions,
  };
  return { ...body, digest: digestOf(body) };
}

/** The state a snapshot holds, with the size and log root it covers; throws SnapshotError. */
export function restoreSnapshot(value: unknown): {
  state: CoordinatorState;
  size: number;
  logRoot: Uint8Array;
} {
  if (typeof value !== 'object' || value === null)
    throw new SnapshotError('snapshot is not an object');
  const { digest, ...body } = value as SnapshotBody & { digest?: unknown };
  if (body.format !== SNAPSHOT_FORMAT)
    throw new SnapshotError(`unknown snapshot format ${String(body.format)}`);
  let want: string;
  try {
    want = digestOf(body);
  } catch (err) {
    throw new SnapshotError(`snapshot is not JSON data: ${(err as Error).message}`);
  }
  if (digest !== want) throw new SnapshotError('snapshot digest does not match its content');
  const state = new CoordinatorState();
  state.size = body.size;
  state.rootIndex = RootIndex.fromRuns(body.root_index.runs, body.root_index.count);
  state.lastRoot = body.last_root ?? undefined;
  for (const s of body.shards) {
    state.shards.set(s.shard_id, {
      sealed: s.sealed
        ? {
            size: s.sealed.size,
            root: fromHex(s.sealed.root),
            index: s.sealed.index,
            sealedAtNs: s.sealed.sealed_at_ns,
            checkpointNs: s.sealed.checkpoint_ns ?? undefined,
          }
        : undefined,
      open: s.open,
      lastStatus: s.last_status ?? undefined,
      lastReason: s.last_reason ?? undefined,
    });
    if (s.presence.length > 0) state.presence.set(s.shard_id, s.presence);
  }
  state.reconstructions.push(...body.reconstructions);
  return { state, size: body.size, logRoot: fromHex(body.log_root) };
}

/** Reads the snapshot file; undefined when there is none. */
export function readSnapshot(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SnapshotError(`${file}: ${(err as Error).message}`);
  }
}

/** Writes the snapshot durably (a crash leaves the previous snapshot or this one). */
export function writeSnapshot(file: string, snapshot: object): Promise<void> {
  return writeFileDurably(file, JSON.stringify(snapshot));
}
