// Worker thread: runs prepareBody for the pool. Messages in: {type: 'table', table, version} and
// {type: 'job', id, body, ndjson, limits, move}; out: {id, result, body?}, a packed result with
// its large buffers transferred and without the body (the caller has its own), or {id, error,
// body?}. A moved body (`move`: transferred here, not copied) is transferred back beside the
// reply, so the caller has it again whatever the outcome.
import { parentPort } from 'node:worker_threads';
import type { DecisionLimits } from '../core/decision.ts';
import type { EpochTable } from '../core/routing.ts';
import { prepareBody, type PackedBatch, type RejectedBatch } from './prepare.ts';

/** A job's result as sent back: a packed batch without its body. */
export type PackedResult = Omit<PackedBatch, 'body'> & { body: undefined };
export type WorkerReply = { id: number; body?: Uint8Array; out?: ArrayBuffer } & (
  { result: PackedResult | RejectedBatch } | { error: string }
);

export type WorkerRequest =
  | { type: 'table'; table: EpochTable; version: number }
  | {
      type: 'job';
      id: number;
      body: Uint8Array;
      ndjson: boolean;
      limits: Partial<DecisionLimits>;
      move: boolean;
      /** Storage for re-serialized decisions, lent by the caller and always sent back. */
      out?: ArrayBuffer;
    };

if (parentPort === null) throw new Error('prepare-worker must run as a worker thread');
const port = parentPort;
let table: EpochTable | undefined;
let version = 0;

port.on('message', (msg: WorkerRequest) => {
  if (msg.type === 'table') {
    table = msg.table;
    version = msg.version;
    return;
  }
  const out = msg.out;
  const moved = { ...(msg.move ? { body: msg.body } : {}), ...(out !== undefined ? { out } : {}) };
  const back: ArrayBuffer[] = msg.move ? [msg.body.buffer as ArrayBuffer] : [];
  if (out !== undefined) back.push(out);
  if (table === undefined) {
    port.postMessage(
      { id: msg.id, error: 'no routing table', ...moved } satisfies WorkerReply,
      back,
    );
    return;
  }
  try {
    const result = prepareBody(
      msg.body,
      msg.ndjson,
      msg.limits,
      table,
      version,
      out === undefined ? undefined : new Uint8Array(out),
    );
    if (!result.ok) {
      port.postMessage({ id: msg.id, result, ...moved } satisfies WorkerReply, back);
      return;
    }
    // The body goes back beside the result (moved) or as nothing (the caller has its own).
    const packed: PackedResult = { ...result, body: undefined };
    // The lent storage is in `back` already when the decisions fit in it (listed once).
    const transfer = new Set<ArrayBuffer>([
      result.canonical.buffer as ArrayBuffer,
      result.routing.buffer as ArrayBuffer,
      result.ids.buffer as ArrayBuffer,
      ...back,
    ]);
    port.postMessage({ id: msg.id, result: packed, ...moved } satisfies WorkerReply, [...transfer]);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    port.postMessage({ id: msg.id, error, ...moved } satisfies WorkerReply, back);
  }
});
