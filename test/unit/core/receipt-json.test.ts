// The batch answer's one form, written by the shard's writer (shard-runtime/receipts.ts) and
// read back by core's reader: every shape the writer makes is read as JSON.parse reads it, or
// declined (for the full parse); nothing the reader accepts is read differently.
import { describe, expect, it } from 'vitest';
import { hexInto, writeDecimal } from '../../../src/core/bytes.ts';
import {
  matchJsonChars,
  routingJsonMaxLength,
  writeRoutingJson,
  type EnvelopeRouting,
} from '../../../src/core/envelope.ts';
import {
  readReceiptBatch,
  type Receipt,
  type SentRecordId,
} from '../../../src/core/receipt-json.ts';
import { parseReceipts } from '../../../src/clients/shard-api.ts';
import type { AppendedRange } from '../../../src/log-store/index.ts';
import { packIds } from '../../../src/shard-runtime/record-ids.ts';
import { ReceiptList } from '../../../src/shard-runtime/receipts.ts';

const MAX = Number.MAX_SAFE_INTEGER;

const entity = (key: string, epoch = 0): EnvelopeRouting => ({
  epoch,
  key,
  pointer: '/ctx/entity_id',
  strategy: 'entity-hash',
});

/** A decision the writer answers for: record_id and routing. */
interface Line {
  id: string;
  routing: EnvelopeRouting;
}

/** Leaf hash k of a pretend append: bytes k, k+1, ... (every hex digit appears). */
function leafHash(k: number): Uint8Array {
  return Uint8Array.from({ length: 32 }, (_, j) => (k * 7 + j * 37) & 0xff);
}

/** The routing bytes and ends of `lines`, as the shard's prepare step renders them. */
function renderRouting(lines: readonly Line[]): { routing: Uint8Array; routingEnds: Uint32Array } {
  const routing = new Uint8Array(lines.reduce((n, l) => n + routingJsonMaxLength(l.routing), 0));
  const routingEnds = new Uint32Array(lines.length);
  let at = 0;
  lines.forEach((l, i) => {
    at = writeRoutingJson(l.routing, routing, at);
    routingEnds[i] = at;
  });
  return { routing, routingEnds };
}

/**
 * The shard's batch answer to `lines`, appended from seq `first` on shard `shardId`; `existing`
 * gives some lines the receipt of an earlier record (a duplicate), `sameAs` repeats an earlier
 * line of the same request.
 */
function answer(
  lines: readonly Line[],
  opts: {
    shardId?: number;
    first?: number;
    existing?: ReadonlyMap<number, Receipt>;
    sameAs?: ReadonlyMap<number, number>;
  } = {},
): Buffer {
  const { shardId = 3, first = 0, existing = new Map(), sameAs = new Map() } = opts;
  const source = { ...packIds(lines.map((l) => l.id)), ...renderRouting(lines) };
  const list = new ReceiptList(shardId, source, lines.length);
  const fresh = lines.map((_, i) => i).filter((i) => !existing.has(i) && !sameAs.has(i));
  const range: AppendedRange = {
    first,
    count: fresh.length,
    leafHash,
    leafHashHexInto: (k, target, at) => {
      hexInto(leafHash(k), 0, 32, target, at);
    },
    batch: { entries: fresh.length, bytes: 0, persistSeconds: 0, syncSeconds: 0, hashSeconds: 0 },
  };
  list.setAppended(range, fresh);
  for (const [i, r] of existing) list.setExisting(i, r);
  for (const [i, earlier] of sameAs) list.setSameAs(i, earlier);
  return list.batchJson();
}

/** The record_ids sent, as readReceiptBatch asks for them (compared as the full path's are). */
const sentOf =
  (lines: readonly Line[]) =>
  (i: number): SentRecordId => {
    const id = (lines[i] as Line).id;
    return { recordId: id, matchRecordId: (b, at) => matchJsonChars(b, at, id) };
  };

/** What the full path reads: JSON.parse and the field checks. */
const parsed = (body: Buffer): Receipt[] =>
  parseReceipts('http://shard', JSON.parse(body.toString('utf8')) as unknown);

/** Whether the reader reads `body` for `lines` as the full path does (or declines it). */
function readsAsJsonDoes(body: Buffer, lines: readonly Line[]): 'read' | 'declined' {
  const read = readReceiptBatch(body, lines.length, sentOf(lines));
  if (read === undefined) return 'declined';
  const full = parsed(body);
  expect(read).toEqual(full);
  expect(JSON.stringify(read)).toBe(JSON.stringify(full));
  return 'read';
}

const lines = (n: number, routing = (i: number) => entity(`entity-${i % 7}`)): Line[] =>
  Array.from({ length: n }, (_, i) => ({ id: `rec-${i}`, routing: routing(i) }));

const original: Receipt = {
  shard_id: 3,
  seq: 41,
  leaf_hash: 'ab'.repeat(32),
  record_id: 'rec-1',
  routing: entity('entity-1'),
};

describe('readReceiptBatch reads what the shard writes', () => {
  it.each([
    ['plain keys', lines(50)],
    ['one decision', lines(1)],
    ['no decision', lines(0)],
    [
      'UTF-8 keys (2, 3 and 4 bytes)',
      lines(4, (i) => entity(['é', 'ü-x', '中文', 'a😀b'][i] as string)),
    ],
    ['an empty key', lines(2, () => entity(''))],
    ['DEL in a key', lines(1, () => entity('a\u007fb'))],
    [
      'null key and pointer (domain default)',
      lines(3, () => ({ epoch: 2, key: null, pointer: null, strategy: 'domain-partitioned' })),
    ],
    [
      'a time window key',
      lines(2, () => ({
        epoch: 9,
        key: '1733',
        pointer: '/timestamp_ns',
        strategy: 'time-partitioned',
      })),
    ],
    ['the largest epoch', lines(2, () => entity('k', MAX))],
    [
      'routes of several pointers and strategies in a row',
      lines(6, (i) =>
        i % 3 === 0
          ? entity(`e${i}`)
          : i % 3 === 1
            ? { epoch: 2, key: `s${i}`, pointer: '/session_id', strategy: 'hash-by-session' }
            : { epoch: 2, key: null, pointer: null, strategy: 'domain-partitioned' },
      ),
    ],
    ['record_ids of every allowed character', [{ id: 'A-z_0.9:Z', routing: entity('k') }]],
  ])('%s', (_name, ls) => {
    for (const opts of [{}, { shardId: 0, first: 0 }, { shardId: MAX, first: MAX - 60 }]) {
      const body = answer(ls, opts);
      expect(readsAsJsonDoes(body, ls)).toBe('read');
      const read = readReceiptBatch(body, ls.length, sentOf(ls)) as Receipt[];
      // The caller's own record_id strings, and plain objects.
      read.forEach((r, i) => {
        expect(r.record_id).toBe(ls[i]?.id);
        expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
        expect({ ...r, routing: { ...r.routing } }).toEqual(r);
      });
    }
  });

  it('reads duplicates: the receipt of an earlier record, and a repeat within the request', () => {
    const ls = lines(4);
    // Line 3 repeats line 0 (same record_id, same decision, so the same route).
    ls[3] = { id: 'rec-0', routing: (ls[0] as Line).routing };
    const body = answer(ls, {
      existing: new Map([[1, original]]),
      sameAs: new Map([[3, 0]]),
    });
    expect(readsAsJsonDoes(body, ls)).toBe('read');
    const read = readReceiptBatch(body, 4, sentOf(ls)) as Receipt[];
    expect(read[1]).toEqual(original);
    expect(read[3]).toEqual(read[0]);
  });

  it('declines routing strings the writer escapes (the full parse reads them)', () => {
    for (const key of ['say "hi"', 'back\\slash', 'tab\there', 'nl\n', 'c\u0001']) {
      const ls = lines(2, () => entity(key));
      const body = answer(ls);
      expect(readsAsJsonDoes(body, ls)).toBe('declined');
      expect(parsed(body).map((r) => r.routing.key)).toEqual([key, key]);
    }
    for (const [pointer, strategy] of [
      ['/a"b', 'hash-by-entity'],
      ['/ctx/entity_id', 'tab\there'],
    ] as const) {
      const ls = lines(1, () => ({ epoch: 1, key: 'k', pointer, strategy }));
      expect(readsAsJsonDoes(answer(ls), ls)).toBe('declined');
    }
  });

  it('reads the routing the shard wrote: a duplicate routed by an earlier epoch, a newer one', () => {
    const ls = lines(3, (i) => entity(`entity-${i}`, 5));
    const older = { ...original, routing: entity('entity-1', 0) };
    const body = answer(ls, { existing: new Map([[1, older]]) });
    expect(readsAsJsonDoes(body, ls)).toBe('read');
    const read = readReceiptBatch(body, 3, sentOf(ls)) as Receipt[];
    expect(read.map((r) => r.routing.epoch)).toEqual([5, 0, 5]);
  });
});

describe('readReceiptBatch declines', () => {
  const ls = lines(3);
  const body = answer(ls, { shardId: 12, first: 340 });
  const text = body.toString('utf8');
  const with_ = (from: string, to: string): Buffer => {
    expect(text).toContain(from);
    return Buffer.from(text.replace(from, to));
  };
  const declined = (b: Buffer, sent = ls, count = sent.length): void => {
    expect(readReceiptBatch(b, count, sentOf(sent))).toBeUndefined();
  };

  it('a body of another count than the decisions sent', () => {
    expect(readReceiptBatch(body, 3, sentOf(ls))).toHaveLength(3);
    declined(body, ls, 2);
    declined(body, [...ls, { id: 'rec-3', routing: entity('x') }], 4);
    declined(Buffer.from('{"receipts":[]}'), ls, 3);
    expect(readReceiptBatch(Buffer.from('{"receipts":[]}'), 0, sentOf([]))).toEqual([]);
  });

  it('every truncation and every extension of a body', () => {
    for (let end = 0; end < body.length; end++) declined(body.subarray(0, end));
    for (const tail of [' ', '\n', ',', '}', 'x'])
      declined(Buffer.concat([body, Buffer.from(tail)]));
  });

  it('spacing, member order and other members', () => {
    declined(Buffer.from(text.replace('{"receipts":', '{ "receipts":')));
    declined(with_('"seq":340,', '"seq": 340,'));
    declined(with_('{"shard_id":12,"seq":340,', '{"seq":340,"shard_id":12,'));
    declined(with_('"strategy":"entity-hash"}', '"strategy":"entity-hash","extra":1}'));
    declined(with_('"entity-hash"}}', '"entity-hash"},"extra":1}'));
    declined(Buffer.from(text.replace('{"receipts":[', '{"other":1,"receipts":[')));
  });

  it('numbers it does not read exactly', () => {
    for (const [from, to] of [
      ['"shard_id":12,', '"shard_id":012,'],
      ['"shard_id":12,', '"shard_id":-12,'],
      ['"shard_id":12,', '"shard_id":12.0,'],
      ['"shard_id":12,', '"shard_id":1.2e1,'],
      ['"shard_id":12,', '"shard_id":"12",'],
      ['"shard_id":12,', '"shard_id":,'],
      ['"shard_id":12,', `"shard_id":${MAX + 1},`],
      ['"shard_id":12,', '"shard_id":99999999999999999,'],
      ['"seq":340,', '"seq":0340,'],
      ['"seq":340,', '"seq":340.5,'],
      ['"seq":340,', '"seq":9007199254740993,'],
      ['"seq":340,', '"seq":null,'],
    ] as const) {
      declined(with_(from, to));
    }
    // The largest safe integer is read (and JSON.parse agrees).
    const big = with_('"seq":340,', `"seq":${MAX},`);
    expect(readReceiptBatch(big, 3, sentOf(ls))?.[0]?.seq).toBe(MAX);
  });

  it('a leaf hash not in lowercase hex', () => {
    const hash = (readReceiptBatch(body, 3, sentOf(ls)) as Receipt[])[0]?.leaf_hash as string;
    for (const bad of [
      hash.toUpperCase(),
      hash.slice(0, 63),
      `${hash}0`,
      `${hash.slice(0, 63)}g`,
      `${hash.slice(0, 63)}"`,
      `${hash.slice(0, 62)}\\u0030`,
    ]) {
      declined(with_(hash, bad));
    }
  });

  it('a record_id other than the one sent', () => {
    for (const other of ['rec-', 'rec-00', 'Rec-0', 'rec-0x', '', 'rec\\u002d0']) {
      declined(with_('"record_id":"rec-0"', `"record_id":"${other}"`));
    }
    declined(with_('"record_id":"rec-0"', '"record_id":null'));
    // The body is fine; the client sent other ids (or an empty one, which no receipt may hold).
    declined(body, [{ id: 'rec-9', routing: entity('entity-0') }, ...ls.slice(1)]);
    declined(answer([{ id: 'x', routing: entity('k') }]), [{ id: '', routing: entity('k') }]);
  });

  it('the routing object spelled otherwise, or refused by the full parse', () => {
    declined(with_('"pointer":"/ctx/entity_id"', '"pointer":null'));
    declined(with_('"key":"entity-0"', '"key":null'));
    declined(with_('"strategy":"entity-hash"', '"strategy":""'));
    declined(with_('"key":"entity-0"', '"key":0'));
    declined(with_('"epoch":0,', '"epoch":"0",'));
    declined(with_('"epoch":0,', '"epoch":00,'));
    declined(with_('"epoch":0,', '"epoch":0.0,'));
    declined(with_('"key":"entity-0"', '"key":"entity\\u002d0"'));
    declined(
      with_('"routing":{"epoch":0,"key":"entity-0"', '"routing":{"key":"entity-0","epoch":0'),
    );
  });

  it('no byte of a body changed to another is read otherwise than JSON.parse reads it', () => {
    const mixed = lines(3, (i) =>
      i === 1
        ? { epoch: 4, key: null, pointer: null, strategy: 'domain-partitioned' }
        : entity('é中😀'),
    );
    const b = answer(mixed, {
      shardId: 7,
      first: 1_000_000,
      existing: new Map([[2, { ...original, record_id: 'rec-2', routing: entity('é中😀') }]]),
    });
    expect(readsAsJsonDoes(b, mixed)).toBe('read');
    let read = 0;
    for (let k = 0; k < b.length; k++) {
      for (const v of [
        0x22,
        0x5c,
        0x30,
        0x39,
        0x61,
        0x66,
        0x20,
        0x7d,
        (b[k] as number) ^ 1,
        0xff,
        0x80,
      ]) {
        if (v === b[k]) continue;
        const changed = Buffer.from(b);
        changed[k] = v;
        // Whatever the reader reads, the full path reads the same; most changes it declines.
        if (readsAsJsonDoes(changed, mixed) === 'read') read++;
      }
    }
    // A changed digit of a shard_id or seq, or of the hash, is still the form.
    expect(read).toBeGreaterThan(0);
  });
});

describe('writeDecimal and the reader agree on every size of number', () => {
  it('reads back 0, powers of ten around each length, and the largest safe integer', () => {
    const values = [0, 1, 9, 10, 99, 100, MAX, MAX - 1];
    for (let p = 1; p < 1e16; p *= 10) values.push(p - 1, p, p + 1);
    for (const seq of values.filter((v) => v <= MAX)) {
      const ls = lines(1);
      const body = answer(ls, { first: seq, shardId: seq });
      const r = readReceiptBatch(body, 1, sentOf(ls));
      expect(r?.[0]?.seq).toBe(seq);
      expect(r?.[0]?.shard_id).toBe(seq);
      const digits = new Uint8Array(16);
      expect(
        body
          .toString()
          .includes(
            `"seq":${Buffer.from(digits.subarray(0, writeDecimal(digits, 0, seq))).toString()},`,
          ),
      ).toBe(true);
    }
  });
});
