// The shard's HTTP API (docs/API.md "Shard API"): a thin layer over the log, the ingestor and
// the routing table. Ingest bodies are read raw; parsing, validation and canonicalization happen
// in prepareBody (in the worker pool for batches), never in middleware.
import type { KeyHistory } from '../core/key-history.ts';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { toBase64, toHex, utf8 } from '../core/bytes.ts';
import { isRecordId, type DecisionLimits } from '../core/decision.ts';
import { refuseOtherMethods } from '../http-server/methods.ts';
import { LogStoreError, type MerkleLog } from '../log-store/index.ts';
import { browserRefusal, type BrowserPolicy } from '../http-server/browser-guard.ts';
import type { CallerAuth } from './caller-auth.ts';
import { MAX_INDEXABLE_ID_LENGTH } from './config.ts';
import { ShardApiError, intParam } from './errors.ts';
import type { Conflict, Ingestor } from './ingest.ts';
import type { RejectReason, ShardMetrics } from './metrics.ts';
import { prepareBody, type PackedBatch, type PrepareResult } from './prepare.ts';
import { PreparePoolError, type PreparePool } from './prepare-pool.ts';
import { BodyLease, BodyPool } from './body-pool.ts';
import { declaredLength, overloaded, readBody, tooLarge, type BodyBudget } from './request-body.ts';
import { BufferPool } from './response-buffers.ts';
import type { RoutingTable } from './routing-table.ts';
import type { ShardLimits } from './config.ts';

export interface ShardHttpDeps {
  shardId: number;
  log: MerkleLog;
  ingestor: Ingestor;
  routing: RoutingTable;
  pool: PreparePool | undefined;
  metrics: ShardMetrics;
  limits: ShardLimits;
  /** Which browser requests are served (see http-server/browser-guard.ts). */
  browsers: BrowserPolicy;
  /** Who may append and read records (see caller-auth.ts). */
  auth: CallerAuth;
  /** Request body bytes the process may hold at once. */
  bodyBudget: BodyBudget;
  /** False while shutting down: ingest gets 503, /readyz fails. */
  accepting: () => boolean;
  /**
   * Why the record_id index can no longer be written, if it cannot: ingest gets 503, /readyz and
   * /healthz fail (so the orchestrator restarts the shard, which re-indexes from the log).
   */
  indexFailure: () => Error | undefined;
  onError: (err: unknown, req: Request) => void;
  /** A prepare job failed in the pool (the request is then prepared inline). */
  onPoolError: (err: Error) => void;
  /** The shard key's history: its first version and a signed transition per rotation. */
  keyHistory: () => KeyHistory;
  /** While checkpoint signings fail (e.g. Vault down): since when and why. */
  signingFailure: () => { sinceMs: number; reason: string } | undefined;
}

/** Request body buffers kept for reuse, bytes (a few batch bodies' worth). */
const BODY_POOL_BYTES = 32 * 1024 * 1024;

/** Batches at least this large go to the worker pool; smaller ones are cheaper inline. */
const POOL_MIN_BYTES = 16 * 1024;

// Express 5 passes a rejected handler promise to the error middleware, so handlers are plain
// async functions.
type Handler = (req: Request, res: Response) => Promise<void>;

/** Media types an ingest body may be sent as (both are refused by browsers without CORS). */
const INGEST_TYPES = new Set(['application/json', 'application/x-ndjson']);

/** Why a Content-Type is not one ingest takes, or undefined when it is. */
function contentTypeProblem(header: string | undefined): string | undefined {
  if (header === undefined)
    return 'Content-Type is required: application/json or application/x-ndjson';
  const [type = '', ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (!INGEST_TYPES.has(type))
    return `Content-Type ${JSON.stringify(type)} is not accepted: use application/json or application/x-ndjson`;
  for (const p of params) {
    if (p.startsWith('charset=') && !/^charset="?utf-8"?$/.test(p))
      return `the body must be UTF-8 (${p})`;
  }
  return undefined;
}

/** The metric reason of each way reading a body can fail. */
const BODY_REJECTS: Partial<Record<string, RejectReason>> = {
  body_too_large: 'body_too_large',
  body_timeout: 'body_timeout',
  overloaded: 'overloaded',
  unsupported_encoding: 'unsupported_media_type',
};

function countLines(body: Uint8Array, max: number): number {
  // Buffer's indexOf is a memchr; Uint8Array's is a generic loop, ten times slower.
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let n = 0;
  for (let i = b.indexOf(0x0a); i >= 0 && n <= max; i = b.indexOf(0x0a, i + 1)) n++;
  return n;
}

function ms(from: number, to: number): string {
  return (to - from).toFixed(3);
}

export function shardApp(d: ShardHttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const decisionLimits: Partial<DecisionLimits> = d.limits.decision;
  const responseBuffers = new BufferPool();
  const bodies = new BodyPool(BODY_POOL_BYTES);

  const reject = (reason: RejectReason, err: ShardApiError): never => {
    d.metrics.reject(reason);
    throw err;
  };

  /**
   * Prepares the body of `lease` (moved to a worker and back: `lease.bytes` is the body again
   * once this returns); a packed batch carries the lease.
   */
  async function prepare(lease: BodyLease, ndjson: boolean): Promise<PrepareResult> {
    const result = await prepareBytes(lease, ndjson);
    if (result.ok) result.lease = lease;
    return result;
  }

  async function prepareBytes(lease: BodyLease, ndjson: boolean): Promise<PrepareResult> {
    let body = lease.bytes;
    if (d.pool !== undefined && body.length >= POOL_MIN_BYTES) {
      try {
        // Re-serialized decisions (SDK-shaped lines) are written into a pooled buffer lent with
        // the body: a new one per batch, handed from the worker's heap to this one, made the
        // main thread's V8 heap collect in full for every ~20 MB of them.
        const out = bodies.take(body.length);
        const result = await d.pool.prepare(body, ndjson, decisionLimits, true, out);
        if (result.ok) {
          lease.bytes = result.body;
          const lent = result.out;
          if (lent !== undefined) {
            if (result.canonical.buffer === lent && result.canonical.length > 0)
              lease.keepWith(lent);
            else bodies.give(lent);
          }
        }
        // A table reload raced the job: route again below with the table now in force.
        if (!result.ok || result.tableVersion === d.routing.current.version) return result;
        body = result.body;
      } catch (err) {
        // A worker died (it is replaced): this request is prepared here instead of failing,
        // unless its body died with the worker.
        if (!(err instanceof PreparePoolError)) throw err;
        d.onPoolError(err);
        if (err.body === undefined)
          reject(
            'unavailable',
            new ShardApiError(
              503,
              'prepare_failed',
              'the worker preparing this request stopped; nothing was appended; retry shortly',
              '$',
              { retry_after_s: 1 },
            ),
          );
        body = err.body as Uint8Array;
        lease.bytes = body;
      }
    }
    const current = d.routing.current;
    return prepareBody(body, ndjson, decisionLimits, current.table, current.version);
  }

  /**
   * Everything an ingest request can be refused for before a byte of its body is read. Once it
   * passes, a client waiting on `Expect: 100-continue` is told to send the body.
   */
  const admit = (req: Request, res: Response, limit: number): void => {
    // First: a caller that may not append learns nothing of the shard's state.
    d.auth.check(req.headers.authorization, 'append', req.socket.remoteAddress);
    if (!d.accepting())
      reject('unavailable', new ShardApiError(503, 'shutting_down', 'the shard is shutting down'));
    const logFailure = d.log.failure;
    if (logFailure !== undefined)
      reject(
        'unavailable',
        new ShardApiError(
          503,
          'log_unavailable',
          `the log can no longer take decisions (${logFailure.message}); nothing was appended; the shard must be restarted`,
        ),
      );
    const indexFailure = d.indexFailure();
    if (indexFailure !== undefined)
      reject(
        'unavailable',
        new ShardApiError(
          503,
          'index_unavailable',
          `the record_id index cannot be written (${indexFailure.message}); the shard must be restarted, acknowledged decisions are safe in the log`,
        ),
      );
    const typeProblem = contentTypeProblem(req.headers['content-type']);
    if (typeProblem !== undefined)
      reject(
        'unsupported_media_type',
        new ShardApiError(415, 'unsupported_media_type', typeProblem, 'Content-Type'),
      );
    const declared = declaredLength(req);
    if (declared !== undefined && declared > limit) reject('body_too_large', tooLarge(limit));
    if (req.headers.expect?.toLowerCase() === '100-continue') {
      // The body would not fit in memory now: say so before the client sends it.
      if (declared !== undefined && declared > d.bodyBudget.size - d.bodyBudget.used)
        reject('overloaded', overloaded(d.bodyBudget));
      res.writeContinue();
    }
  };

  /** Prepares, ingests and answers the body held by `lease`. */
  const answer = async (res: Response, lease: BodyLease, ndjson: boolean): Promise<void> => {
    const bytes = lease.bytes;
    // Server-Timing's validate step starts once the body is in (as it did when express read it).
    const t0 = performance.now();
    // Shutdown may have begun while the body arrived.
    if (!d.accepting())
      reject('unavailable', new ShardApiError(503, 'shutting_down', 'the shard is shutting down'));
    if (ndjson) {
      const lines = countLines(bytes, d.limits.maxBatchLines);
      if (lines > d.limits.maxBatchLines) {
        reject(
          'too_many_lines',
          new ShardApiError(
            413,
            'too_many_lines',
            `a batch may hold at most ${d.limits.maxBatchLines} lines`,
          ),
        );
      }
    }
    const prepared = await prepare(lease, ndjson);
    const t1 = performance.now();
    if (!prepared.ok) {
      const first = prepared.problems[0];
      const problems = ndjson
        ? prepared.problems
        : prepared.problems.map(({ path, code, message }) => ({ path, code, message }));
      reject(
        'invalid_decision',
        new ShardApiError(
          400,
          'invalid_decision',
          ndjson
            ? `${prepared.problems.length} problem(s) in the batch; nothing was appended`
            : `invalid decision: ${first?.message ?? 'unknown problem'}`,
          first?.path ?? '$',
          { problems },
        ),
      );
    }
    const outcome = await d.ingestor.ingest(prepared as PackedBatch);
    const t2 = performance.now();
    // The table this answer was judged by: a client whose table differs reloads it.
    res.setHeader('X-AgDR-Routing-Hash', d.routing.current.hash);
    if (!outcome.ok && 'retired' in outcome) {
      const { epoch, retiredFromNs } = outcome.retired;
      reject(
        'retired',
        new ShardApiError(
          409,
          'shard_retired',
          `shard ${d.shardId} was retired by the routing epoch in force (epoch ${epoch}, shard retired from ${retiredFromNs} ns); nothing was appended: re-submit the decision with a current timestamp_ns so it routes to a live shard`,
          '$',
          { epoch, retired_from_ns: retiredFromNs },
        ),
      );
      return;
    }
    if (!outcome.ok && 'conflicts' in outcome) {
      const first = outcome.conflicts[0] as Conflict;
      const original =
        first.seq !== undefined
          ? `stored at seq ${first.seq}`
          : first.original_line !== undefined
            ? `on line ${first.original_line} of this request`
            : 'being appended';
      reject(
        'record_id_conflict',
        new ShardApiError(
          409,
          'record_id_conflict',
          `record_id ${first.record_id} is taken by a different decision (${original}); a record_id names one decision: nothing was appended`,
          '$.record_id',
          { conflicts: outcome.conflicts },
        ),
      );
      return;
    }
    if (!outcome.ok) {
      const first = outcome.misrouted[0];
      reject(
        'misrouted',
        new ShardApiError(
          421,
          'misrouted',
          `decision routes to shard ${first?.shard_id} (epoch ${first?.epoch}), not shard ${d.shardId}; nothing was appended`,
          '$',
          { shard_id: first?.shard_id, misrouted: outcome.misrouted },
        ),
      );
      return;
    }
    const hashMs = (outcome.batch?.hashSeconds ?? 0) * 1000;
    const persistMs = (outcome.batch?.persistSeconds ?? 0) * 1000;
    res.setHeader(
      'Server-Timing',
      `validate;dur=${ms(t0, t1)}, hash;dur=${hashMs.toFixed(3)}, persist;dur=${persistMs.toFixed(3)}, total;dur=${ms(t0, t2)}`,
    );
    const receipts = outcome.receipts;
    const dupes = receipts.duplicates();
    if (dupes > 0) d.metrics.duplicates.inc(dupes);
    let json: Buffer;
    if (ndjson) {
      const buffer = responseBuffers.take(receipts.batchJsonMaxLength());
      json = buffer.subarray(0, receipts.writeBatchJson(buffer));
      res.once('finish', () => responseBuffers.give(buffer));
    } else {
      json = receipts.json(0);
    }
    res
      .status(ndjson || !receipts.created(0) ? 200 : 201)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(json);
  };

  const ingest = (ndjson: boolean): Handler => {
    const limit = ndjson ? d.limits.maxBatchBodyBytes : d.limits.maxBodyBytes;
    return async (req, res) => {
      admit(req, res, limit);
      const bytes = await readBody(req, res, {
        limit,
        budget: d.bodyBudget,
        idleTimeoutMs: d.limits.bodyIdleTimeoutMs,
        pool: bodies,
      }).catch((err: unknown) => {
        if (err instanceof ShardApiError) d.metrics.reject(BODY_REJECTS[err.code] ?? 'bad_request');
        throw err;
      });
      // The handler's hold on the body: the ingestor takes its own while it needs the bytes.
      const lease = new BodyLease(bytes, bodies);
      try {
        await answer(res, lease, ndjson);
      } finally {
        lease.release();
      }
    };
  };

  // Before any route: a refused browser request learns nothing and plants nothing.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const refusal = browserRefusal(req.headers, d.browsers, 'shard');
    next(refusal && new ShardApiError(refusal.status, refusal.code, refusal.message, refusal.path));
  });
  app.post(/^\/v1\/decisions:batch$/, ingest(true));
  app.post('/v1/decisions', ingest(false));

  app.get('/v1/checkpoint', async (_req, res) => {
    const latest = await d.log.latestCheckpoint();
    if (latest === undefined)
      throw new ShardApiError(503, 'no_checkpoint', 'no checkpoint has been signed yet');
    // The latest checkpoint no longer covers what was acknowledged and none can be signed now:
    // a coordinator must not seal it as current (it marks the shard missing until signing
    // recovers, then reconstructs it). Older checkpoints stay at /v1/checkpoints?size=N.
    const failing = d.signingFailure();
    if (failing !== undefined && latest.size < d.log.size) {
      res.setHeader('Retry-After', '5');
      throw new ShardApiError(
        503,
        'checkpoint_unsigned',
        `no checkpoint covers the ${d.log.size - latest.size} records appended since size ${latest.size}: signing has failed since ${new Date(failing.sinceMs).toISOString()} (${failing.reason}); appends continue`,
      );
    }
    res.type('text/plain; charset=utf-8').send(latest.note);
  });
  app.get('/v1/checkpoints', async (req, res) => {
    const size = intParam(req.query.size, 'size');
    const note = await d.log.checkpointAt(size);
    if (note === undefined)
      throw new ShardApiError(404, 'not_found', `no checkpoint was issued at size ${size}`, 'size');
    res.type('text/plain; charset=utf-8').send(note);
  });
  /** A tree size parameter: at most the log's durable size. */
  const sizeParam = (raw: unknown, name: string): number => {
    const size = intParam(raw, name);
    if (size > d.log.size) {
      throw new ShardApiError(
        400,
        'bad_parameter',
        `${name} ${size} is beyond the log size ${d.log.size}`,
        name,
      );
    }
    return size;
  };
  app.get('/v1/proofs/inclusion', async (req, res) => {
    const index = intParam(req.query.index, 'index');
    const size = sizeParam(req.query.size, 'size');
    if (index >= size)
      throw new ShardApiError(400, 'bad_parameter', `index must be below size ${size}`, 'index');
    const hashes = await d.log.inclusionProof(index, size);
    res.json({ leaf_index: index, tree_size: size, hashes: hashes.map(toHex) });
  });
  app.get('/v1/proofs/consistency', async (req, res) => {
    const from = intParam(req.query.from, 'from');
    const to = sizeParam(req.query.to, 'to');
    if (from < 1 || from > to)
      throw new ShardApiError(400, 'bad_parameter', 'need 0 < from <= to', 'from');
    const hashes = await d.log.consistencyProof(from, to);
    res.json({ from, to, hashes: hashes.map(toHex) });
  });

  // The stored envelope is embedded as its own bytes (canonical JSON), not parsed and
  // re-serialized: a decision's integers beyond 2^53 keep every digit in the answer.
  const record = async (seq: number): Promise<string> => {
    const [bytes, leaf] = await Promise.all([d.log.read(seq), d.log.leafHash(seq)]);
    return (
      `{"seq":${seq},"leaf_hash":"${toHex(leaf)}","envelope":${utf8.decode(bytes)},` +
      `"envelope_base64":"${toBase64(bytes)}"}`
    );
  };
  // Records carry the decisions themselves: readable by anyone only when reads are open.
  // Checkpoints and proofs are hashes and sizes, which the coordinator and verifiers fetch.
  app.use('/v1/records', (req: Request, _res: Response, next: NextFunction) => {
    d.auth.check(req.headers.authorization, 'read', req.socket.remoteAddress);
    next();
  });
  app.get('/v1/records/:seq', async (req, res) => {
    const seq = intParam(req.params.seq, 'seq');
    if (seq >= d.log.size)
      throw new ShardApiError(404, 'not_found', `no record ${seq} (log size ${d.log.size})`, 'seq');
    res.type('application/json').send(await record(seq));
  });
  app.get('/v1/records', async (req, res) => {
    const id = req.query.record_id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new ShardApiError(400, 'bad_parameter', 'record_id is required', 'record_id');
    }
    // Checked before the index sees it: an id no decision could carry is bad input, not a key
    // the index must be asked about (it cannot key one past its limit).
    if (!isRecordId(id, MAX_INDEXABLE_ID_LENGTH)) {
      throw new ShardApiError(
        400,
        'bad_parameter',
        `record_id must be 1 to ${MAX_INDEXABLE_ID_LENGTH} characters of A-Z a-z 0-9 . _ : -`,
        'record_id',
      );
    }
    const seq = d.ingestor.seqOf(id);
    if (seq === undefined || seq >= d.log.size) {
      throw new ShardApiError(
        404,
        'not_found',
        'no record with that record_id on this shard',
        'record_id',
      );
    }
    res.type('application/json').send(await record(seq));
  });

  app.get('/v1/key-history', (_req, res) => {
    res.json(d.keyHistory());
  });

  app.get('/v1/routing', (_req, res) => {
    const t = d.routing.current;
    res.setHeader('X-AgDR-Routing-Hash', t.hash);
    res.json(t.table);
  });
  // The log (a failed write or sync, damaged data) or the record_id index can no longer make
  // progress: only a restart recovers, so liveness fails as well as readiness.
  const failure = (): Error | undefined => d.log.failure ?? d.indexFailure();
  app.get('/healthz', (_req, res) => {
    const failed = failure();
    if (failed === undefined) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'failed', reason: failed.message });
  });
  app.get('/readyz', (_req, res) => {
    const ok = d.accepting() && failure() === undefined;
    res.status(ok ? 200 : 503).json({ ready: ok, tree_size: d.log.size });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(d.metrics.registry.contentType).send(await d.metrics.registry.metrics());
  });

  refuseOtherMethods(
    app,
    (method, allow) =>
      new ShardApiError(405, 'method_not_allowed', `${method} is not allowed here; use ${allow}`),
  );
  app.use((req: Request) => {
    throw new ShardApiError(404, 'not_found', `no route ${req.method} ${req.path}`, req.path);
  });
  // Express's signature for error handlers needs all four parameters.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toApiError(err, d);
    if (e.status >= 500) d.onError(err, req);
    if (res.headersSent) return;
    // A body left unread cannot be skipped to reach the next request: close the connection.
    if (!req.complete) res.setHeader('Connection', 'close');
    if (e.status === 503 && e.code === 'overloaded') res.setHeader('Retry-After', '1');
    // RFC 6750 3: the scheme to use, and why the token sent was not taken.
    if (e.status === 401)
      res.setHeader(
        'WWW-Authenticate',
        e.code === 'invalid_token'
          ? 'Bearer realm="agdr", error="invalid_token"'
          : 'Bearer realm="agdr"',
      );
    res.status(e.status).json(e.toJSON());
  });
  return app;
}

function toApiError(err: unknown, d: ShardHttpDeps): ShardApiError {
  if (err instanceof ShardApiError) return err;
  if (err instanceof LogStoreError) {
    if (err.code === 'out_of_range') return new ShardApiError(400, 'bad_parameter', err.message);
    // Damaged stored data is never served: a fault of this shard's storage, said plainly.
    if (err.code === 'corrupt') return new ShardApiError(500, 'log_corrupt', err.message);
    // Written when the log failed: the records may be durable after the restart. record_id is
    // idempotent, so the same request again gets their receipts, or appends them once.
    if (err.code === 'outcome_unknown')
      return new ShardApiError(
        503,
        'outcome_unknown',
        `${err.message}: the decisions may or may not have been stored; retry the same request (same record_id) once the shard is back: a stored decision returns its original receipt, a lost one is appended once`,
      );
    return new ShardApiError(
      503,
      'log_unavailable',
      `the log cannot accept writes (${err.message}); nothing was appended; the shard must be restarted`,
    );
  }
  const e = err as { status?: number; message?: string };
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    d.metrics.reject('bad_request');
    return new ShardApiError(e.status, 'bad_request', e.message ?? 'bad request');
  }
  return new ShardApiError(500, 'internal', 'internal error');
}
