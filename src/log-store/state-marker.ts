// The durable-size marker: "the first `size` records, their leaf index and their tile nodes were
// synced, and their root is `root`". Recovery trusts everything below the marker to be intact
// (a mismatch there is corruption, not a torn write) and checks the stored tree against `root`.
// Two alternating slots with a sequence number and CRC, so a torn marker write leaves the other.
import fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { AppendFile } from './append-file.ts';
import { HASH_SIZE } from './layout.ts';

const SLOT = 64;
const MAGIC = Buffer.from('AGDRSTAT', 'latin1');

export interface DurableMark {
  readonly size: number;
  readonly root: Uint8Array;
}

function encodeSlot(serial: number, mark: DurableMark): Buffer {
  const buf = Buffer.alloc(SLOT);
  MAGIC.copy(buf, 0);
  buf.writeUIntLE(serial, 8, 6);
  buf.writeUIntLE(mark.size, 16, 6);
  buf.set(mark.root, 24);
  buf.writeUInt32LE(crc32(buf.subarray(0, 24 + HASH_SIZE)), 24 + HASH_SIZE);
  return buf;
}

function decodeSlot(buf: Buffer): { serial: number; mark: DurableMark } | undefined {
  if (buf.length < SLOT || !buf.subarray(0, 8).equals(MAGIC)) return undefined;
  if (buf.readUInt32LE(24 + HASH_SIZE) !== crc32(buf.subarray(0, 24 + HASH_SIZE))) return undefined;
  return {
    serial: buf.readUIntLE(8, 6),
    mark: { size: buf.readUIntLE(16, 6), root: new Uint8Array(buf.subarray(24, 24 + HASH_SIZE)) },
  };
}

export class StateMarker {
  readonly #file: AppendFile;
  #serial: number;
  #mark: DurableMark | undefined;

  private constructor(file: AppendFile, serial: number, mark: DurableMark | undefined) {
    this.#file = file;
    this.#serial = serial;
    this.#mark = mark;
  }

  /** Opens the marker file (`readOnly`: it must exist and is only read). */
  static open(path: string, readOnly = false): StateMarker {
    const existed = fs.existsSync(path);
    const file = AppendFile.open(path, readOnly ? 'read' : 'create');
    let best: { serial: number; mark: DurableMark } | undefined;
    if (existed) {
      for (let slot = 0; slot < 2; slot++) {
        if (file.length < (slot + 1) * SLOT) continue;
        const decoded = decodeSlot(file.read(slot * SLOT, SLOT));
        if (decoded !== undefined && (best === undefined || decoded.serial > best.serial))
          best = decoded;
      }
    }
    return new StateMarker(file, best?.serial ?? 0, best?.mark);
  }

  /** The last durable mark, if one was ever written intact. */
  get mark(): DurableMark | undefined {
    return this.#mark;
  }

  /** Writes and syncs a new mark (into the slot not holding the current one). */
  async write(mark: DurableMark): Promise<void> {
    const serial = this.#serial + 1;
    await this.#file.writeAt(encodeSlot(serial, mark), (serial % 2) * SLOT);
    await this.#file.datasync();
    this.#serial = serial;
    this.#mark = { size: mark.size, root: mark.root.slice() };
  }

  async close(): Promise<void> {
    await this.#file.close();
  }
}
