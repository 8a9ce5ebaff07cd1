// A progress bar on stderr: redrawn in place on a terminal, a line per 10 % otherwise.

export class ProgressBar {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #label = '';
  #lastDraw = 0;
  #lastDecile = -1;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  update(label: string, done: number, total: number): void {
    if (label !== this.#label) {
      if (this.#label !== '' && this.#tty) this.#out.write('\n');
      this.#label = label;
      this.#lastDecile = -1;
    }
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    if (this.#tty) {
      const now = Date.now();
      if (now - this.#lastDraw < 100 && done < total) return;
      this.#lastDraw = now;
      const width = 30;
      const full = Math.round(frac * width);
      this.#out.write(
        `\r${label.padEnd(12)} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total}`,
      );
    } else {
      const decile = Math.floor(frac * 10);
      if (decile === this.#lastDecile) return;
      this.#lastDecile = decile;
      this.#out.write(`${label}: ${decile * 10}% (${done}/${total})\n`);
    }
  }

  done(): void {
    if (this.#tty && this.#label !== '') this.#out.write('\n');
    this.#label = '';
  }
}
