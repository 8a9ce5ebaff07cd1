// A small HTTP client over node:http with keep-alive and a hard per-request timeout. The
// coordinator talks to hundreds of shards per interval; a pooled agent avoids a TCP handshake
// per request and the timeout is what keeps one slow shard from holding the interval.
import http from 'node:http';
import https from 'node:https';
import type { TokenSource } from './bearer-token.ts';
import { HttpError } from './errors.ts';

export interface HttpResponse {
  status: number;
  contentType: string;
  /** Response headers (names in lower case), e.g. `retry-after`, `x-agdr-routing-hash`. */
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  method?: string;
  /** The body; parts are written in order without being joined (a batch of lines). */
  body?: string | Uint8Array | readonly Uint8Array[];
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Largest accepted response body; a bigger one fails with `http_body`. */
  maxBytes?: number;
  /** Aborting destroys the socket (used when the caller's own deadline passes). */
  signal?: AbortSignal;
  /**
   * Sent as `Authorization: Bearer <token>`, asked for anew on every request: a projected
   * ServiceAccount token is rewritten by the kubelet before it expires (see bearer-token.ts).
   */
  token?: TokenSource;
}

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });

/** The URL as it may appear in messages and logs: without a user name or password in it. */
export function redactUrl(url: string): string {
  const u = URL.parse(url);
  if (u === null || (u.username === '' && u.password === '')) return url;
  u.username = '';
  u.password = '';
  return u.toString();
}

export async function request(rawUrl: string, opts: RequestOptions): Promise<HttpResponse> {
  if (opts.token === undefined) return send(rawUrl, opts.headers, opts);
  const headers = { ...opts.headers, authorization: `Bearer ${await opts.token()}` };
  return send(rawUrl, headers, opts);
}

function send(
  rawUrl: string,
  givenHeaders: Record<string, string> | undefined,
  opts: RequestOptions,
): Promise<HttpResponse> {
  const parts = Array.isArray(opts.body) ? (opts.body as readonly Uint8Array[]) : undefined;
  const headers =
    parts === undefined
      ? givenHeaders
      : { ...givenHeaders, 'content-length': String(parts.reduce((n, p) => n + p.length, 0)) };
  const target = new URL(rawUrl);
  const url = redactUrl(rawUrl);
  const lib = target.protocol === 'https:' ? https : http;
  const agent = target.protocol === 'https:' ? httpsAgent : httpAgent;
  const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    let settled = false;
    // Settling releases the timer and the abort listener: a long-lived signal (the publisher's)
    // must not collect one listener per request.
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', aborted);
      return true;
    };
    const fail = (err: HttpError): void => {
      if (!settle()) return;
      req.destroy();
      reject(err);
    };
    const req = lib.request(target, { method: opts.method ?? 'GET', agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          fail(new HttpError('http_body', url, `response body larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (!settle()) return;
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          headers: res.headers,
          body: Buffer.concat(chunks),
        });
      });
      res.on('error', (err) => fail(new HttpError('http_network', url, err.message)));
    });
    function aborted(): void {
      fail(new HttpError('http_timeout', url, `${url}: request aborted by its deadline`));
    }
    const timer = setTimeout(
      () =>
        fail(new HttpError('http_timeout', url, `${url}: no answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      fail(new HttpError('http_network', url, `${url}: ${err.code ?? err.message}`)),
    );
    if (opts.signal?.aborted) {
      aborted();
      return;
    }
    opts.signal?.addEventListener('abort', aborted, { once: true });
    if (parts !== undefined) {
      req.cork();
      for (const p of parts) req.write(p);
      req.uncork();
      req.end();
    } else if (opts.body !== undefined) req.end(opts.body as string | Uint8Array);
    else req.end();
  });
}

/** A short description of a non-2xx answer: the server's JSON error message if it sent one. */
function statusMessage(res: HttpResponse): string {
  const text = res.body.toString('utf8').slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; code?: string } | string };
    if (typeof parsed.error === 'string') return parsed.error;
    if (parsed.error?.message) return parsed.error.message;
  } catch (err) {
    // Not JSON: fall through to the raw text, which is what a proxy error page looks like.
    if (!(err instanceof SyntaxError)) throw err;
  }
  return text.trim();
}

async function ok(rawUrl: string, opts: RequestOptions): Promise<HttpResponse> {
  const res = await request(rawUrl, opts);
  const url = redactUrl(rawUrl);
  if (res.status < 200 || res.status > 299) {
    throw new HttpError(
      'http_status',
      url,
      `${url}: HTTP ${res.status}: ${statusMessage(res)}`,
      res.status,
    );
  }
  return res;
}

export async function getText(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
  maxBytes?: number,
  token?: TokenSource,
): Promise<string> {
  return (await ok(url, { timeoutMs, signal, maxBytes, token })).body.toString('utf8');
}

/** The parsed JSON body, unchecked: callers check it with core's checkers (see wire.ts). */
export async function getJson(
  url: string,
  timeoutMs: number,
  signal?: AbortSignal,
  maxBytes?: number,
  token?: TokenSource,
): Promise<unknown> {
  const res = await ok(url, { timeoutMs, signal, maxBytes, token });
  try {
    return JSON.parse(res.body.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpError('http_body', redactUrl(url), `invalid JSON: ${(err as Error).message}`);
  }
}

/** The answer: parsed JSON (unchecked), text when it is not JSON, undefined when empty. */
export async function postBody(
  url: string,
  body: string | Uint8Array,
  contentType: string,
  timeoutMs: number,
  signal?: AbortSignal,
  token?: TokenSource,
): Promise<unknown> {
  const res = await ok(url, {
    method: 'POST',
    body,
    headers: { 'content-type': contentType },
    timeoutMs,
    signal,
    token,
  });
  const text = res.body.toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (res.contentType.includes('json')) {
      throw new HttpError('http_body', redactUrl(url), `invalid JSON: ${(err as Error).message}`);
    }
    return text;
  }
}

/** Joins a base URL and a path without doubling or losing the slash. */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + (path.startsWith('/') ? path : '/' + path);
}
