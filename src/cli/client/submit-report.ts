// What `agdr submit` tells its user: every refused line with its reason (stderr), every receipt
// with its line (stdout, --json), progress on a terminal, one summary line and the exit status.
import type { Receipt, SubmitError, SubmitProblem } from '../../client/index.ts';

export class SubmitMeter {
  readonly #err: NodeJS.WriteStream;
  readonly #json: NodeJS.WriteStream | undefined;
  readonly #tty: boolean;
  readonly #started = Date.now();
  #read = 0;
  #acked = 0;
  #invalid = 0;
  #refused = 0;
  readonly #perShard = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(err: NodeJS.WriteStream, json: NodeJS.WriteStream | undefined) {
    this.#err = err;
    this.#json = json;
    this.#tty = err.isTTY === true;
    if (this.#tty) this.#timer = setInterval(() => this.#progress(), 250).unref();
  }

  read(): void {
    this.#read++;
  }

  acknowledged(line: number, receipt: Receipt): void {
    this.#acked++;
    this.#perShard.set(receipt.shard_id, (this.#perShard.get(receipt.shard_id) ?? 0) + 1);
    this.#json?.write(`{"line":${line},${JSON.stringify(receipt).slice(1)}\n`);
  }

  invalid(line: number, problems: readonly SubmitProblem[]): void {
    this.#invalid++;
    for (const p of problems) this.#say(`line ${line}: ${p.path}: ${p.message}`);
  }

  refused(line: number, error: SubmitError): void {
    this.#refused++;
    this.#say(`line ${line}: ${error.code}: ${error.message}`);
  }

  /** Prints the summary; the exit status (0 all acknowledged, 2 invalid input, 1 refused). */
  finish(): number {
    clearInterval(this.#timer);
    if (this.#tty) this.#err.write('\r\x1b[K');
    const count = this.#acked + this.#invalid + this.#refused;
    if (count === 0) {
      this.#err.write('agdr submit: no decisions in the input\n');
      return 2;
    }
    const shards = [...this.#perShard.entries()].sort(([a], [b]) => a - b);
    const summary = shards.map(([s, n]) => `shard ${s}: ${n}`).join(', ');
    this.#err.write(
      `agdr submit: ${this.#acked} of ${count} decisions acknowledged (durable)` +
        (summary ? ` — ${summary}` : '') +
        (this.#invalid > 0 ? `; ${this.#invalid} invalid` : '') +
        (this.#refused > 0 ? `; ${this.#refused} not acknowledged` : '') +
        '\n',
    );
    if (this.#invalid > 0) return 2;
    return this.#refused > 0 ? 1 : 0;
  }

  #say(text: string): void {
    if (this.#tty) this.#err.write('\r\x1b[K');
    this.#err.write(`agdr submit: ${text}\n`);
  }

  #progress(): void {
    const secs = (Date.now() - this.#started) / 1000;
    const rate = secs > 0 ? Math.round(this.#acked / secs) : 0;
    this.#err.write(
      `\r\x1b[Kread ${this.#read}, acknowledged ${this.#acked}, refused ${this.#invalid + this.#refused}, ${rate}/s`,
    );
  }
}
