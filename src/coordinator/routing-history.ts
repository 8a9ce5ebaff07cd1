// Every routing epoch table a global root was built under, by its hash, kept next to the global
// log: an evidence bundle must carry the exact table whose hash the record commits to, even
// after the table in force has changed.
import fs from 'node:fs';
import path from 'node:path';
import { isHashHex } from '../core/json-shape.ts';
import { epochTableHash, validateEpochTable } from '../core/routing.ts';
import { DIR_MODE } from '../log-store/index.ts';
import type { EpochTable } from '../core/routing.ts';
import { writeFileDurably } from './durable-file.ts';

export class RoutingHistory {
  readonly dir: string;
  readonly #known = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    for (const name of fs.readdirSync(dir)) {
      const m = /^([0-9a-f]{64})\.json$/.exec(name);
      if (m) this.#known.add(m[1] as string);
    }
  }

  /** Stores `table` durably (once per distinct table); returns its hash. */
  async remember(table: EpochTable): Promise<string> {
    const hash = epochTableHash(table);
    if (this.#known.has(hash)) return hash;
    await writeFileDurably(path.join(this.dir, `${hash}.json`), JSON.stringify(table));
    this.#known.add(hash);
    return hash;
  }

  /** The table with this hash, if one was used. */
  async get(hash: string): Promise<EpochTable | undefined> {
    if (!isHashHex(hash) || !this.#known.has(hash)) return undefined;
    const text = await fs.promises.readFile(path.join(this.dir, `${hash}.json`), 'utf8');
    return validateEpochTable(JSON.parse(text));
  }
}
