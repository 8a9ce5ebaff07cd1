// One keep-alive HTTP/1.1 connection for the load generator: it sends a request that is already
// laid out in one Buffer and reads back only the response's status and length. Reads land in one
// Buffer per connection (`net`'s `onread`), so a response costs no allocation per read; Node's
// `http` client copies every read into a new Buffer, and that garbage (and its collection) was
// about a third of the load generator's CPU, which it shares with the shard it measures.
//
// Deliberately narrow: one request at a time, responses must carry Content-Length (the shard's
// do; anything else is reported as an error), the body is counted, not kept.
import net from 'node:net';

const READ_BUFFER_BYTES = 256 * 1024;
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** `METHOD path HTTP/1.1` with Host, the given headers and Content-Length, then the body. */
export function requestHead(
  method: string,
  url: URL,
  headers: Record<string, string>,
  bodyLength: number,
): Buffer {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${bodyLength}`, '', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

interface Waiting {
  resolve: (status: number) => void;
  reject: (err: Error) => void;
  written: boolean;
  answered: boolean;
  status: number;
}

export class Http1Connection {
  readonly #socket: net.Socket;
  readonly #ready: Promise<void>;
  readonly #head = Buffer.alloc(MAX_HEAD_BYTES);
  #headLength = 0;
  /** Body bytes still to come, or -1 while reading the head. */
  #remaining = -1;
  #waiting: Waiting | undefined;
  #error: Error | undefined;

  constructor(url: URL) {
    this.#socket = net.connect({
      host: url.hostname,
      port: Number(url.port),
      noDelay: true,
      onread: {
        buffer: Buffer.alloc(READ_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array) => {
          this.#read(buf, n);
          return true;
        },
      },
    });
    this.#ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', resolve);
      this.#socket.once('error', reject);
    });
    // A connection closed before its first request must not leave an unhandled rejection.
    this.#ready.catch(() => undefined);
    this.#socket.on('error', (err) => this.#fail(err));
    this.#socket.on('close', () => this.#fail(new Error('connection closed by the server')));
  }

  /**
   * Sends `request` (head and body in one Buffer) and resolves with the status once the request
   * was handed to the OS in full and the whole response was read: only then may the caller
   * rewrite `request`.
   */
  async send(request: Buffer): Promise<number> {
    await this.#ready;
    if (this.#error !== undefined) throw this.#error;
    if (this.#waiting !== undefined) throw new Error('one request at a time');
    return new Promise<number>((resolve, reject) => {
      const w: Waiting = { resolve, reject, written: false, answered: false, status: 0 };
      this.#waiting = w;
      this.#socket.write(request, (err) => {
        if (err) return this.#fail(err);
        w.written = true;
        this.#settle();
      });
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #settle(): void {
    const w = this.#waiting;
    if (w === undefined || !w.written || !w.answered) return;
    this.#waiting = undefined;
    w.resolve(w.status);
  }

  #fail(err: Error): void {
    this.#error ??= err;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(err);
  }

  #read(buf: Uint8Array, n: number): void {
    let at = 0;
    while (at < n) {
      if (this.#remaining < 0) {
        const take = Math.min(n - at, MAX_HEAD_BYTES - this.#headLength);
        if (take === 0) return this.#fail(new Error('response head too large'));
        this.#head.set(buf.subarray(at, at + take), this.#headLength);
        const from = Math.max(0, this.#headLength - 3);
        this.#headLength += take;
        const end = this.#head.subarray(0, this.#headLength).indexOf(HEAD_END, from);
        if (end < 0) {
          at += take;
          continue;
        }
        const headBytes = end + HEAD_END.length;
        // Bytes of this read past the head are body bytes.
        at += take - (this.#headLength - headBytes);
        this.#startBody(this.#head.toString('latin1', 0, end));
        this.#headLength = 0;
        if (this.#error !== undefined) return;
      } else {
        const take = Math.min(n - at, this.#remaining);
        this.#remaining -= take;
        at += take;
      }
      if (this.#remaining === 0) {
        this.#remaining = -1;
        const w = this.#waiting;
        if (w === undefined) return this.#fail(new Error('response without a request'));
        w.answered = true;
        this.#settle();
      }
    }
  }

  #startBody(head: string): void {
    const [statusLine = '', ...fields] = head.split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    let length: number | undefined;
    for (const field of fields) {
      const colon = field.indexOf(':');
      const name = field.slice(0, colon).trim().toLowerCase();
      if (name === 'content-length') length = Number(field.slice(colon + 1).trim());
      if (name === 'transfer-encoding') return this.#fail(new Error('chunked response'));
    }
    if (status === null || length === undefined || !Number.isSafeInteger(length)) {
      return this.#fail(new Error(`unexpected response head: ${statusLine}`));
    }
    if (this.#waiting !== undefined) this.#waiting.status = Number(status[1]);
    this.#remaining = length;
  }
}
