// The routing epoch table in force, loaded from a JSON file and reloaded when the file changes.
// A file that fails to parse or validate is refused (the previous table stays in force) and the
// failure is logged; the shard never routes by a table it could not validate.
import { FieldError } from '../core/errors.ts';
import fs from 'node:fs';
import type { Logger } from 'pino';
import { epochTableHash, validateEpochTable, type EpochTable } from '../core/routing.ts';

export class RoutingTableError extends FieldError<'invalid_routing_file'> {
  override name = 'RoutingTableError';
  constructor(file: string, message: string) {
    super('invalid_routing_file', file, message);
  }
}

export interface LoadedTable {
  readonly table: EpochTable;
  /** Hex hash of the canonical table (core epochTableHash). */
  readonly hash: string;
  /** Increments on every successful reload. */
  readonly version: number;
}

export function readEpochTable(file: string): EpochTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new RoutingTableError(file, `cannot read: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RoutingTableError(file, `not JSON: ${(err as Error).message}`);
  }
  try {
    return validateEpochTable(value);
  } catch (err) {
    throw new RoutingTableError(file, (err as Error).message);
  }
}

export class RoutingTable {
  readonly file: string;
  #current: LoadedTable;
  readonly #logger: Logger;
  readonly #listeners: ((t: LoadedTable) => void)[] = [];
  readonly #onStat = (): void => {
    this.reload();
  };
  #watching = false;

  /** Loads `file` now; throws RoutingTableError if it is not a valid epoch table. */
  constructor(file: string, logger: Logger) {
    this.file = file;
    this.#logger = logger;
    const table = readEpochTable(file);
    this.#current = { table, hash: epochTableHash(table), version: 1 };
  }

  get current(): LoadedTable {
    return this.#current;
  }

  onChange(listener: (t: LoadedTable) => void): void {
    this.#listeners.push(listener);
  }

  /** Re-reads the file; keeps the current table if the new one is invalid. Returns whether it changed. */
  reload(): boolean {
    let table: EpochTable;
    try {
      table = readEpochTable(this.file);
    } catch (err) {
      this.#logger.error(
        { err: (err as Error).message, file: this.file },
        'routing table reload refused',
      );
      return false;
    }
    const hash = epochTableHash(table);
    if (hash === this.#current.hash) return false;
    this.#current = { table, hash, version: this.#current.version + 1 };
    this.#logger.info(
      { file: this.file, hash, epochs: table.epochs.length },
      'routing table reloaded',
    );
    for (const l of this.#listeners) l(this.#current);
    return true;
  }

  /** Polls the file for changes (stat-based, so atomic renames are seen too). */
  watch(intervalMs: number): void {
    if (this.#watching) return;
    this.#watching = true;
    fs.watchFile(this.file, { interval: intervalMs, persistent: false }, this.#onStat);
  }

  close(): void {
    if (this.#watching) fs.unwatchFile(this.file, this.#onStat);
    this.#watching = false;
  }
}
