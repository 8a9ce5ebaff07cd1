// A pool of worker threads running prepareBody, so JSON parsing, validation and canonical
// re-serialization (the costly part of ingest) stay off the thread that owns the log writer.
// Jobs go to the worker with the fewest outstanding jobs; a crashed worker is replaced and its
// jobs fail with PreparePoolError (the HTTP layer then prepares the request inline, or, when the
// body had been moved to the dead worker, answers 503 so the client retries).
//
// A body the caller owns (`move`) is transferred to the worker and back with the result instead
// of being copied: a structured clone of a 3.5 MB batch costs the main thread a copy plus page
// faults on fresh memory, and the worker another copy.
import { CodedError } from '../core/errors.ts';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { DecisionLimits } from '../core/decision.ts';
import type { EpochTable } from '../core/routing.ts';
import type { PrepareResult } from './prepare.ts';
import type { WorkerReply, WorkerRequest } from './prepare-worker.ts';

const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './prepare-worker.ts' : './prepare-worker.js',
  import.meta.url,
);

export class PreparePoolError extends CodedError<'prepare_failed'> {
  override name = 'PreparePoolError';
  /**
   * The job's body, to prepare elsewhere; undefined when it had been moved to a worker that
   * died (it is gone with the worker).
   */
  readonly body: Uint8Array | undefined;
  constructor(message: string, body: Uint8Array | undefined) {
    super('prepare_failed', message);
    this.body = body;
  }
}

interface Pending {
  /** The caller's body (a packed result comes back without one), or undefined if it was moved. */
  body: Uint8Array | undefined;
  resolve: (r: PrepareResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Pending>;
  startedAt: number;
  dead: boolean;
}

/** A worker that dies sooner than this after starting is replaced only after this delay. */
const RESPAWN_BACKOFF_MS = 1000;

export class PreparePool {
  readonly size: number;
  readonly #slots: Slot[] = [];
  readonly #logger: Logger;
  #table: { table: EpochTable; version: number };
  #nextId = 1;
  #closed = false;

  constructor(size: number, table: EpochTable, version: number, logger: Logger) {
    this.size = size;
    this.#logger = logger;
    this.#table = { table, version };
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  #spawn(): Slot {
    // Named so that the thread shows as such in ps, top and /proc (and the shard bench).
    const worker = new Worker(WORKER_URL, { name: 'agdr-prepare' });
    // Workers must not keep the process alive on their own: the server does.
    worker.unref();
    const slot: Slot = { worker, jobs: new Map(), startedAt: performance.now(), dead: false };
    worker.on('message', (msg: WorkerReply) => {
      const job = slot.jobs.get(msg.id);
      if (job === undefined) return;
      slot.jobs.delete(msg.id);
      if ('error' in msg) job.reject(new PreparePoolError(msg.error, msg.body ?? job.body));
      // A moved body always comes back with its result.
      else if (msg.result.ok)
        job.resolve({ ...msg.result, body: (msg.body ?? job.body) as Uint8Array, out: msg.out });
      else job.resolve(msg.result);
    });
    const fail = (why: string): void => {
      for (const job of slot.jobs.values()) job.reject(new PreparePoolError(why, job.body));
      slot.jobs.clear();
      if (this.#closed || slot.dead) return;
      slot.dead = true;
      this.#logger.error({ why }, 'prepare worker died; replacing it');
      const replace = (): void => {
        const i = this.#slots.indexOf(slot);
        if (i >= 0 && !this.#closed) this.#slots[i] = this.#spawn();
      };
      // A worker that cannot even start (e.g. out of memory) is not restarted in a tight loop.
      if (performance.now() - slot.startedAt >= RESPAWN_BACKOFF_MS) replace();
      else setTimeout(replace, RESPAWN_BACKOFF_MS).unref();
    };
    worker.on('error', (err) => fail(err.message));
    worker.on('exit', (code) => {
      if (!this.#closed) fail(`worker exited with code ${code}`);
    });
    worker.postMessage({ type: 'table', ...this.#table } satisfies WorkerRequest);
    return slot;
  }

  /** Sends a new routing table to every worker (jobs report the version they used). */
  setTable(table: EpochTable, version: number): void {
    this.#table = { table, version };
    for (const s of this.#slots)
      s.worker.postMessage({ type: 'table', table, version } satisfies WorkerRequest);
  }

  /**
   * Prepares `body` in a worker. With `move`, the body's ArrayBuffer is transferred to the worker
   * and comes back as the result's `body` (the caller's view is detached meanwhile, and for
   * good if the job fails: only a caller that owns the whole buffer may move it). `out`, when
   * given, is transferred too: the worker writes re-serialized decisions into it and a packed
   * result brings it back as `out` (lost with a failed job).
   */
  prepare(
    body: Uint8Array,
    ndjson: boolean,
    limits: Partial<DecisionLimits>,
    move = false,
    out?: ArrayBuffer,
  ): Promise<PrepareResult> {
    if (this.#closed) return Promise.reject(new PreparePoolError('prepare pool is closed', body));
    let slot: Slot | undefined;
    for (const s of this.#slots)
      if (!s.dead && (slot === undefined || s.jobs.size < slot.jobs.size)) slot = s;
    if (slot === undefined)
      return Promise.reject(new PreparePoolError('no prepare worker is running', body));
    const target = slot;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      target.jobs.set(id, { body: move ? undefined : body, resolve, reject });
      const job = { type: 'job', id, body, ndjson, limits, move, out } satisfies WorkerRequest;
      const transfer = move ? [body.buffer as ArrayBuffer] : [];
      if (out !== undefined) transfer.push(out);
      target.worker.postMessage(job, transfer);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
    for (const s of this.#slots) {
      for (const job of s.jobs.values())
        job.reject(new PreparePoolError('prepare pool is closed', job.body));
    }
  }
}
