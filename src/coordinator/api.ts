// The coordinator's HTTP API: global roots, the global log's checkpoints and proofs, missing
// intervals, the trust bundle and routing table, health and metrics. A thin layer: every
// answer comes from the CoordinatorView; nothing here decides anything but whom to serve.
import type { KeyHistory } from '../core/key-history.ts';
import { CodedError } from '../core/errors.ts';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { toHex } from '../core/bytes.ts';
import { isHashHex } from '../core/json-shape.ts';
import type { GlobalRootRecord } from '../core/global-root/index.ts';
import type { EpochTable } from '../core/routing.ts';
import type { GlobalLogEntry, ShardListing } from '../clients/coordinator-api.ts';
import type { TrustBundle } from '../clients/trust.ts';
import type { MissingReport } from './state.ts';
import { browserRefusal, type BrowserPolicy } from '../http-server/browser-guard.ts';
import { refuseOtherMethods } from '../http-server/methods.ts';
import { LogStoreError } from '../log-store/index.ts';

/** What the API serves; implemented by the running coordinator. */
export interface CoordinatorView {
  ready(): boolean;
  /** Why the coordinator can no longer make progress (its global log failed or is damaged). */
  failure(): Error | undefined;
  /** Number of global roots (the next id). */
  globalRootCount(): number;
  /** Global root records in id order, from `from` (an id), at most `limit` (fewer past a size cap). */
  globalRoots(from: number, limit: number): Promise<GlobalLogEntry<GlobalRootRecord>[]>;
  globalRoot(id: number): Promise<GlobalLogEntry<GlobalRootRecord> | undefined>;
  latestGlobalRoot(): Promise<GlobalLogEntry<GlobalRootRecord> | undefined>;
  /** The earliest global root that sealed `shard` at a size >= `minSize`. */
  sealing(shard: number, minSize: number): Promise<GlobalLogEntry<GlobalRootRecord> | undefined>;
  entry(index: number): Promise<GlobalLogEntry | undefined>;
  size(): number;
  latestCheckpoint(): Promise<string | undefined>;
  checkpointAt(size: number): Promise<string | undefined>;
  inclusionProof(index: number, size: number): Promise<Uint8Array[]>;
  consistencyProof(from: number, to: number): Promise<Uint8Array[]>;
  missing(): MissingReport;
  /** The trust bundle, with the coordinator's own key. */
  keys(): TrustBundle;
  /** The coordinator key's history: its first version and a signed transition per rotation. */
  keyHistory(): KeyHistory;
  routing(): EpochTable;
  /** A routing epoch table a global root was built under, by its hash. */
  routingTable(hash: string): Promise<EpochTable | undefined>;
  shards(): { shards: ShardListing[] };
  registry(): Registry;
}

class ApiError extends CodedError {
  override name = 'ApiError';
  readonly status: number;
  constructor(status: number, code: string, message: string, path?: string) {
    super(code, message, path);
    this.status = status;
  }
}

const MAX_INT = Number.MAX_SAFE_INTEGER;

/**
 * A non-negative decimal integer (at most 2^53 - 1) in its one spelling (no leading zeros, so
 * one id has one URL), or undefined when it is not one.
 */
function parseIndex(raw: string): number | undefined {
  if (!/^(0|[1-9][0-9]*)$/.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : undefined;
}

function intParam(req: Request, name: string, opts: { min?: number; def?: number } = {}): number {
  const raw = req.query[name];
  if (raw === undefined && opts.def !== undefined) return opts.def;
  if (raw === undefined) throw new ApiError(400, 'bad_parameter', `${name} is required`, name);
  if (Array.isArray(raw)) {
    throw new ApiError(400, 'bad_parameter', `${name} is given more than once`, name);
  }
  const n = typeof raw === 'string' ? parseIndex(raw) : undefined;
  if (n === undefined) {
    throw new ApiError(
      400,
      'bad_parameter',
      `${name} must be a whole number from ${opts.min ?? 0} to ${MAX_INT}, without leading zeros`,
      name,
    );
  }
  if (n < (opts.min ?? 0)) {
    throw new ApiError(400, 'bad_parameter', `${name} must be at least ${opts.min ?? 0}`, name);
  }
  return n;
}

function pathInt(value: string | undefined, name: string): number {
  const n = value === undefined ? undefined : parseIndex(value);
  if (n === undefined) {
    throw new ApiError(
      400,
      'bad_parameter',
      `${name} must be a whole number from 0 to ${MAX_INT}, without leading zeros`,
      name,
    );
  }
  return n;
}

function reasonOfRequest(err: unknown): string {
  return err instanceof URIError
    ? 'the URL has a malformed %-escape'
    : String((err as Error).message);
}

const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);

/**
 * The API over `view`. Browser requests are served only as `browsers` allows (the same check as
 * the shard's): a page must not read the global log through a rebound DNS name.
 */
export function coordinatorApi(
  view: CoordinatorView,
  logError: (err: unknown) => void,
  browsers: BrowserPolicy,
): express.Express {
  const app = express();
  app.disable('x-powered-by');

  // Before any route, health and metrics included: a refused browser request learns nothing.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const refusal = browserRefusal(req.headers, browsers, 'coordinator');
    next(refusal && new ApiError(refusal.status, refusal.code, refusal.message, refusal.path));
  });

  app.get('/healthz', (_req, res) => {
    const failure = view.failure();
    if (failure === undefined) res.json({ ok: true });
    else res.status(503).json({ ok: false, reason: failure.message });
  });
  app.get('/readyz', (_req, res) => {
    res.status(view.ready() ? 200 : 503).json({ ready: view.ready() });
  });
  app.get('/metrics', async (_req, res) => {
    const registry = view.registry();
    res.type(registry.contentType).send(await registry.metrics());
  });

  app.get('/v1/global-roots', async (req, res) => {
    const from = intParam(req, 'from', { def: 0 });
    const limit = Math.min(intParam(req, 'limit', { def: 100, min: 1 }), 1000);
    const roots = await view.globalRoots(from, limit);
    const last = roots[roots.length - 1]?.record.global_root_id;
    // next_from: where the next page starts, or null at the end of the log.
    const next = last !== undefined && last + 1 < view.globalRootCount() ? last + 1 : null;
    res.json({ global_roots: roots, next_from: next });
  });
  app.get('/v1/global-roots/latest', async (_req, res) => {
    const e = await view.latestGlobalRoot();
    if (!e) throw notFound('no global root has been sealed yet');
    res.json(e);
  });
  app.get('/v1/global-roots/:id', async (req, res) => {
    const id = pathInt(req.params.id as string | undefined, 'id');
    const e = await view.globalRoot(id);
    if (!e) throw notFound(`no global root with id ${id} (${view.globalRootCount()} sealed)`);
    res.json(e);
  });
  app.get('/v1/sealed', async (req, res) => {
    const shard = intParam(req, 'shard');
    const size = intParam(req, 'size', { min: 1 });
    const e = await view.sealing(shard, size);
    if (!e) {
      throw new ApiError(
        404,
        'not_found',
        `no global root has sealed shard ${shard} at size >= ${size} yet`,
      );
    }
    res.json(e);
  });
  app.get('/v1/records/:index', async (req, res) => {
    const index = pathInt(req.params.index as string | undefined, 'index');
    const e = await view.entry(index);
    if (!e) throw notFound(`no global log entry at index ${index} (log size ${view.size()})`);
    res.json(e);
  });

  app.get('/v1/checkpoint', async (_req, res) => {
    const note = await view.latestCheckpoint();
    if (note === undefined) throw notFound('the global log is empty: no checkpoint yet');
    res.type('text/plain; charset=utf-8').send(note);
  });
  app.get('/v1/checkpoints', async (req, res) => {
    const size = intParam(req, 'size', { min: 1 });
    const note = await view.checkpointAt(size);
    if (note === undefined) throw notFound(`no global checkpoint was signed at size ${size}`);
    res.type('text/plain; charset=utf-8').send(note);
  });
  app.get('/v1/proofs/inclusion', async (req, res) => {
    const index = intParam(req, 'index');
    const size = intParam(req, 'size', { min: 1 });
    if (size > view.size()) {
      throw new ApiError(
        400,
        'out_of_range',
        `size ${size} is past the global log size ${view.size()}`,
        'size',
      );
    }
    if (index >= size) {
      throw new ApiError(400, 'out_of_range', `index ${index} is not below size ${size}`, 'index');
    }
    const hashes = await view.inclusionProof(index, size);
    res.json({ leaf_index: index, tree_size: size, hashes: hashes.map(toHex) });
  });
  app.get('/v1/proofs/consistency', async (req, res) => {
    const from = intParam(req, 'from', { min: 1 });
    const to = intParam(req, 'to', { min: 1 });
    if (to > view.size()) {
      throw new ApiError(
        400,
        'out_of_range',
        `to ${to} is past the global log size ${view.size()}`,
        'to',
      );
    }
    if (from > to) {
      throw new ApiError(400, 'out_of_range', `from ${from} is larger than to ${to}`, 'from');
    }
    const hashes = await view.consistencyProof(from, to);
    res.json({ from, to, hashes: hashes.map(toHex) });
  });

  app.get('/v1/missing', (_req, res) => {
    res.json(view.missing());
  });
  app.get('/v1/keys', (_req, res) => {
    res.json(view.keys());
  });
  app.get('/v1/key-history', (_req, res) => {
    res.json(view.keyHistory());
  });
  app.get('/v1/routing', (_req, res) => {
    res.json(view.routing());
  });
  app.get('/v1/routing-tables/:hash', async (req, res) => {
    const hash = String(req.params.hash);
    if (!isHashHex(hash)) {
      throw new ApiError(400, 'bad_parameter', 'hash must be 64 lowercase hex digits', 'hash');
    }
    const table = await view.routingTable(hash);
    if (table === undefined)
      throw notFound('no global root was built under a routing table with that hash');
    res.json(table);
  });
  app.get('/v1/shards', (_req, res) => {
    res.json(view.shards());
  });

  // Every endpoint is read-only: another method on a known path is 405, not "no such endpoint".
  refuseOtherMethods(
    app,
    (method, allow) =>
      new ApiError(405, 'method_not_allowed', `${method} is not allowed here; use ${allow}`),
  );
  app.use((req: Request, _res: Response, next: NextFunction) =>
    next(notFound(`no such endpoint: ${req.method} ${req.path}`)),
  );
  // Express recognises an error handler by its four parameters.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof ApiError) {
      res
        .status(err.status)
        .json({ error: { code: err.code, message: err.message, path: err.path } });
      return;
    }
    // Express's own 4xx errors (a malformed %-escape in the path, say): the request was bad,
    // not the server.
    const status = (err as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({
        error: { code: 'bad_request', message: reasonOfRequest(err), path: 'url' },
      });
      return;
    }
    logError(err);
    if (err instanceof LogStoreError && err.code === 'corrupt') {
      // Damaged stored data is never served; saying so is what an operator needs to see.
      res.status(500).json({ error: { code: 'log_corrupt', message: err.message } });
      return;
    }
    res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
  });
  return app;
}
