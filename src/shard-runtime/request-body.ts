// Reading an ingest request's body under the shard's resource limits: at most `limit` bytes
// (after content decoding), refused up front when Content-Length already says more; body bytes
// held by all requests of the process together at most the budget's size; a body that stalls
// for `idleTimeoutMs` is cut. Every failure is a ShardApiError that closes the connection (the
// rest of the body is never read).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { BodyPool } from './body-pool.ts';
import { ShardApiError } from './errors.ts';

/**
 * Body bytes held in memory by the requests of one process: taken as they arrive, given back
 * when the response has been sent (the body is in use until then).
 */
export class BodyBudget {
  readonly size: number;
  #used = 0;

  constructor(size: number) {
    this.size = size;
  }

  get used(): number {
    return this.#used;
  }

  /** Takes `n` bytes if they fit; false (nothing taken) if they do not. */
  tryTake(n: number): boolean {
    if (this.#used + n > this.size) return false;
    this.#used += n;
    return true;
  }

  give(n: number): void {
    this.#used -= n;
  }
}

export interface BodyLimits {
  /** Largest body, bytes (after content decoding). */
  limit: number;
  budget: BodyBudget;
  /** A body that sends nothing for this long is cut, ms. */
  idleTimeoutMs: number;
  /** Where body buffers come from (and where outgrown ones go back to). */
  pool: BodyPool;
}

/** The declared Content-Length, if the request has one (Node has checked its syntax). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  return raw === undefined ? undefined : Number(raw);
}

export function tooLarge(limit: number): ShardApiError {
  return new ShardApiError(
    413,
    'body_too_large',
    `request body is larger than the limit (${limit} bytes)`,
    '$',
    { limit },
  );
}

export function overloaded(budget: BodyBudget): ShardApiError {
  return new ShardApiError(
    503,
    'overloaded',
    `the shard holds as many request bodies as it may (${budget.size} bytes); retry shortly`,
    '$',
    { retry_after_s: 1 },
  );
}

function decoder(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  switch (encoding) {
    case 'identity':
      return req;
    case 'gzip':
    case 'x-gzip':
      return req.pipe(zlib.createGunzip());
    case 'deflate':
      return req.pipe(zlib.createInflate());
    case 'br':
      return req.pipe(zlib.createBrotliDecompress());
    default:
      throw new ShardApiError(
        415,
        'unsupported_encoding',
        `Content-Encoding ${JSON.stringify(encoding)} is not supported (identity, gzip, deflate, br)`,
        'Content-Encoding',
      );
  }
}

/**
 * Reads the body of `req` within `limits`, into a buffer of `limits.pool` (the body is a view
 * of its start). Budget taken is given back when `res` closes. Rejects
 * with a ShardApiError: 413 body_too_large, 503 overloaded, 408 body_timeout, 400 bad_request
 * (a body that does not decode, or a connection closed mid-body), 415 unsupported_encoding.
 */
export function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limits: BodyLimits,
): Promise<Uint8Array> {
  const { limit, budget, pool } = limits;
  let taken = 0;
  res.once('close', () => budget.give(taken));
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(limit));
  const identity = req.headers['content-encoding'] === undefined;
  // A declared length is the exact size of an identity body: one buffer, no growing copies.
  let buf = new Uint8Array(pool.take(identity && declared !== undefined ? declared : 64 * 1024));
  let length = 0;
  return new Promise<Uint8Array>((resolve, reject) => {
    let source: Readable;
    try {
      source = decoder(req);
    } catch (err) {
      reject(err as Error);
      return;
    }
    let settled = false;
    const timer = setTimeout(
      () =>
        fail(
          new ShardApiError(
            408,
            'body_timeout',
            `no body bytes arrived for ${limits.idleTimeoutMs} ms`,
          ),
        ),
      limits.idleTimeoutMs,
    );
    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      source.off('data', onData);
    };
    const fail = (err: ShardApiError): void => {
      if (settled) return;
      finish();
      // The rest of the body is not read: the connection cannot carry another request.
      res.setHeader('Connection', 'close');
      if (source !== req) source.destroy();
      req.unpipe();
      req.pause();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      timer.refresh();
      const end = length + chunk.length;
      if (end > limit) return fail(tooLarge(limit));
      if (!budget.tryTake(chunk.length)) return fail(overloaded(budget));
      taken += chunk.length;
      if (end > buf.length) {
        const grown = new Uint8Array(pool.take(Math.min(limit, Math.max(2 * buf.length, end))));
        grown.set(buf.subarray(0, length));
        pool.give(buf.buffer);
        buf = grown;
      }
      buf.set(chunk, length);
      length = end;
    };
    source.on('data', onData);
    source.once('end', () => {
      if (settled) return;
      finish();
      resolve(buf.subarray(0, length));
    });
    source.once('error', (err: Error) =>
      fail(
        new ShardApiError(400, 'bad_request', `the request body cannot be read: ${err.message}`),
      ),
    );
    req.once('close', () => {
      if (!req.complete)
        fail(new ShardApiError(400, 'bad_request', 'the connection closed before the body ended'));
    });
  });
}
