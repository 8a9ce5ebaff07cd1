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
export type WorkerReply = { id: number; body?: Uint8Array } & (
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
  const moved = msg.move ? { body: msg.body } : {};
  const back: ArrayBuffer[] = msg.move ? [msg.body.buffer as ArrayBuffer] : [];
  if (table === undefined) {
    port.postMessage(
      { id: msg.id, error: 'no routing table', ...moved } satisfies WorkerReply,
      back,
    );
    return;
  }
  try {
    const result = prepareBody(msg.body, msg.ndjson, msg.limits, table, version);
    if (!result.ok) {
      port.postMessage({ id: msg.id, result, ...moved } satisfies WorkerReply, back);
      return;
    }
    // The body goes back beside the result (moved) or as nothing (the caller has its own).
    const packed: PackedResult = { ...result, body: undefined };
    port.postMessage({ id: msg.id, result: packed, ...moved } satisfies WorkerReply, [
      result.canonical.buffer as ArrayBuffer,
      result.routing.buffer as ArrayBuffer,
      result.ids.buffer as ArrayBuffer,
      ...back,
    ]);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    port.postMessage({ id: msg.id, error, ...moved } satisfies WorkerReply, back);
  }
});
