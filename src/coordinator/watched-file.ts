// A JSON file the coordinator re-reads when it changes (trust bundle, routing table). A file
// that turns bad keeps the last good value in force and reports the error, rather than
// leaving the coordinator with nothing to trust or route by.
import fs from 'node:fs';
import type { Logger } from 'pino';
import { CoordinatorError } from './errors.ts';
import type { CoordinatorErrorCode } from './errors.ts';

export type ReloadListener = (result: 'ok' | 'error', error?: string) => void;

function stampOf(st: fs.Stats): string {
  return `${st.mtimeMs}:${st.size}:${st.ino}`;
}

export class WatchedJsonFile<T> {
  readonly path: string;
  readonly #parse: (value: unknown) => T;
  readonly #code: CoordinatorErrorCode;
  #value: T;
  #stamp: string;
  #lastError: string | undefined;
  readonly #onReload: ReloadListener | undefined;

  /** Reads and validates the file now; throws a CoordinatorError if it is missing or bad. */
  constructor(
    path: string,
    parse: (value: unknown) => T,
    code: CoordinatorErrorCode,
    onReload?: ReloadListener,
  ) {
    this.path = path;
    this.#parse = parse;
    this.#code = code;
    this.#onReload = onReload;
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (err) {
      throw new CoordinatorError(code, `${path}: ${(err as Error).message}`, path);
    }
    this.#value = this.#read();
    this.#stamp = stampOf(st);
  }

  #read(): T {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new CoordinatorError(this.#code, `${this.path}: ${(err as Error).message}`, this.path);
    }
    try {
      return this.#parse(parsed);
    } catch (err) {
      const e = err as Error & { path?: string };
      throw new CoordinatorError(
        this.#code,
        `${this.path}: ${e.path ? e.path + ': ' : ''}${e.message}`,
        this.path,
      );
    }
  }

  /** The value in force, re-reading the file first if it changed. */
  current(): T {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.path);
    } catch (err) {
      const message = `${this.path}: ${(err as Error).message}`;
      // Reported once per change (a deleted file is checked every round), like a bad edit.
      if (message !== this.#lastError) {
        this.#lastError = message;
        this.#stamp = '';
        this.#onReload?.('error', message);
      }
      return this.#value;
    }
    const stamp = stampOf(st);
    if (stamp === this.#stamp) return this.#value;
    this.#stamp = stamp;
    try {
      this.#value = this.#read();
      this.#lastError = undefined;
      this.#onReload?.('ok');
    } catch (err) {
      this.#lastError = (err as Error).message;
      this.#onReload?.('error', this.#lastError);
    }
    return this.#value;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }
}

/**
 * A ReloadListener that logs each reload of `file` (`<what> reloaded`, or an error saying the
 * previous value stays in force), then calls `also` with the result.
 */
export function logReloads(
  logger: Logger,
  what: string,
  file: string,
  also?: (result: 'ok' | 'error') => void,
): ReloadListener {
  return (result, error) => {
    if (result === 'ok') logger.info({ file }, `${what} reloaded`);
    else logger.error({ file, error }, `${what} reload failed; keeping the previous one`);
    also?.(result);
  };
}
