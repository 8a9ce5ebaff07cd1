// Worker thread: runs prepareBody for the pool. Messages in: {type: 'table', table, version} and
// {type: 'job', id, body, ndjson, limits}; out: {id, result}, a packed result with its large
// buffers transferred and without the body (the caller has its own), or {id, error}.
import { parentPort } from 'node:worker_threads';
import type { DecisionLimits } from '../core/decision.ts';
import type { EpochTable } from '../core/routing.ts';
import { prepareBody, type PackedBatch, type RejectedBatch } from './prepare.ts';

/** A job's result as sent back: a packed batch without its body. */
export type PackedResult = Omit<PackedBatch, 'body'> & { body: undefined };
export type WorkerReply =
  { id: number; result: PackedResult | RejectedBatch } | { id: number; error: string };

export type WorkerRequest =
  | { type: 'table'; table: EpochTable; version: number }
  | { type: 'job'; id: number; body: Uint8Array; ndjson: boolean; limits: Partial<DecisionLimits> };

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
  if (table === undefined) {
    port.postMessage({ id: msg.id, error: 'no routing table' });
    return;
  }
  try {
    const result = prepareBody(msg.body, msg.ndjson, msg.limits, table, version);
    if (!result.ok) {
      port.postMessage({ id: msg.id, result });
      return;
    }
    // The body goes back as nothing: the pool puts the caller's own copy in its place.
    const packed: PackedResult = { ...result, body: undefined };
    port.postMessage({ id: msg.id, result: packed }, [
      result.canonical.buffer as ArrayBuffer,
      result.routing.buffer as ArrayBuffer,
      result.ids.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
