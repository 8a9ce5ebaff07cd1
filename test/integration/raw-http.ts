// HTTP/1.1 spoken by hand over a socket to 127.0.0.1: for requests no HTTP client library would
// send (malformed heads, oversized headers, a body that stalls, Expect: 100-continue).
import net from 'node:net';

export interface RawAnswer {
  /** Status of the first response (0 when the connection closed without one). */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Every byte received, including a 100 Continue before the final answer. */
  raw: string;
  /** Whether the server closed the connection. */
  closed: boolean;
}

function parse(raw: string, closed: boolean): RawAnswer {
  // A 100 Continue comes before the final response: skip interim responses.
  let text = raw;
  while (/^HTTP\/1\.1 1\d\d /.test(text) && text.includes('\r\n\r\n'))
    text = text.slice(text.indexOf('\r\n\r\n') + 4);
  const end = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/') || end < 0)
    return { status: 0, headers: {}, body: '', raw, closed };
  const [line = '', ...fields] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const f of fields) {
    const colon = f.indexOf(':');
    headers[f.slice(0, colon).trim().toLowerCase()] = f.slice(colon + 1).trim();
  }
  return { status: Number(line.split(' ')[1]), headers, body: text.slice(end + 4), raw, closed };
}

/**
 * Connects to `url`'s host and port, writes `head` (and `body`, if given),
 * and collects what comes back until the server closes the connection, a complete response
 * with a Content-Length arrived, or `waitMs` passed.
 */
export function rawExchange(
  url: string,
  head: string,
  opts: { body?: Uint8Array | string; waitMs?: number; untilClosed?: boolean } = {},
): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let raw = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(raw, closed));
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 5000);
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => {
      raw += c;
      if (opts.untilClosed === true) return;
      const a = parse(raw, false);
      const length = Number(a.headers['content-length'] ?? NaN);
      if (a.status >= 200 && Buffer.byteLength(a.body, 'latin1') >= length) finish(false);
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(head);
      if (opts.body !== undefined) socket.write(opts.body);
    });
  });
}
