// Connection-level limits and error answers shared by the shard's and the coordinator's HTTP
// servers: a cap on open connections (so idle sockets cannot exhaust the process's file
// descriptors), timeouts for the request head and the whole request, and a JSON body for the
// errors Node's own HTTP parser answers before any request handler runs (400, 408, 413, 431).
import http from 'node:http';
import type { RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';

export interface ServerLimits {
  /** Most open connections; further ones are closed as they arrive. */
  maxConnections: number;
  /** Time allowed to receive a request's head (line and headers), ms. */
  headersTimeoutMs: number;
  /** Time allowed to receive a whole request, head and body, ms. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long, ms. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 65_000,
});

/** How often Node checks the head and request timeouts (its default, 30 s, would blur them). */
const TIMEOUT_CHECK_MS = 1000;

/** The status, code and message for an error of Node's HTTP parser (or its timeouts). */
export function clientErrorAnswer(err: { code?: string; message: string }): {
  status: number;
  code: string;
  message: string;
} {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return {
        status: 431,
        code: 'headers_too_large',
        message: 'the request head is larger than the limit',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return {
        status: 413,
        code: 'body_too_large',
        message: 'chunk extensions are larger than the limit',
      };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'request_timeout',
        message: 'the request was not received in time',
      };
    default:
      return {
        status: 400,
        code: 'bad_request',
        message: `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`,
      };
  }
}

/** A whole HTTP/1.1 response with a JSON error body, closing the connection. */
export function rawErrorResponse(status: number, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message, path: '$' } });
  return (
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // A reset connection has nobody to answer; a response already under way cannot be replaced.
  const pending = (socket as Duplex & { _httpMessage?: http.ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || (pending?.headersSent ?? false)) {
    socket.destroy();
    return;
  }
  const a = clientErrorAnswer(err);
  socket.end(rawErrorResponse(a.status, a.code, a.message), () => socket.destroy());
  // A peer that reads nothing would keep the socket half-open.
  setTimeout(() => socket.destroy(), 5000).unref();
}

/**
 * An HTTP server for `listener` with `limits` applied. `checkContinue`, if given, handles
 * requests that carry `Expect: 100-continue` (the listener must then send 100 Continue itself,
 * once it accepts the body); without it, Node answers 100 at once.
 */
export function limitedServer(
  listener: RequestListener,
  limits: ServerLimits,
  checkContinue?: RequestListener,
): http.Server {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_MS,
    },
    listener,
  );
  server.maxConnections = limits.maxConnections;
  server.on('clientError', answerClientError);
  // An Expect other than 100-continue: Node would answer 417 without a body.
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = JSON.stringify({
      error: {
        code: 'expectation_failed',
        message: `Expect: ${req.headers.expect ?? ''} is not supported (only 100-continue)`,
        path: 'Expect',
      },
    });
    res.writeHead(417, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Connection: 'close',
    });
    res.end(body);
  });
  if (checkContinue !== undefined) server.on('checkContinue', checkContinue);
  return server;
}
