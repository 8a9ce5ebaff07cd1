import { describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { canonicalJson } from '../../../src/core/jcs.ts';
import type { EpochTable } from '../../../src/core/routing.ts';
import { routeDecision } from '../../../src/core/routing.ts';
import { sdkLine } from '../../fixtures/records.ts';
import { routingJson } from '../../../src/core/envelope.ts';
import {
  canonicalAt,
  prepareBody,
  routingAt,
  splitLines,
} from '../../../src/shard-runtime/prepare.ts';
import { idAt, idHash, recordIdAt } from '../../../src/shard-runtime/record-ids.ts';
import { decision, epochTable, ndjson } from '../../integration/shard/shard-process.ts';

const table: EpochTable = epochTable(3);

describe('splitLines', () => {
  it('numbers lines from 1, drops a trailing CR and skips blank lines', () => {
    const body = utf8.encode('a\r\n\n  \nbb\n\tc');
    const { starts, ends, numbers } = splitLines(body);
    expect([...numbers]).toEqual([1, 4, 5]);
    expect([...starts].map((s, i) => utf8.decode(body.subarray(s, ends[i])))).toEqual([
      'a',
      'bb',
      '\tc',
    ]);
  });
  it('keeps every line of a body with more lines than it first has room for', () => {
    const lines = Array.from({ length: 300 }, (_, i) => (i % 7 === 3 ? '' : `line ${i}`));
    const body = utf8.encode(lines.join('\n'));
    const { starts, ends, numbers } = splitLines(body);
    const kept = lines.flatMap((l, i) => (l === '' ? [] : [[i + 1, l] as const]));
    expect([...numbers]).toEqual(kept.map(([n]) => n));
    expect([...starts].map((s, i) => utf8.decode(body.subarray(s, ends[i])))).toEqual(
      kept.map(([, l]) => l),
    );
    expect(numbers.buffer.byteLength).toBe(4 * kept.length); // exactly its lines: sent back
  });
});

describe('prepareBody', () => {
  it('packs canonical bytes, record ids and routes of every line', () => {
    const ds = [decision(1), decision(2, { bytes: 500 }), decision(3)];
    // Key order and whitespace in the input do not matter: the stored bytes are RFC 8785.
    const text = ds
      .map((d) => Object.fromEntries(Object.entries(d).reverse()))
      .map((d) => sdkLine(d))
      .join('\n');
    const r = prepareBody(utf8.encode(text), true, {}, table, 7);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.count).toBe(3);
    expect(r.tableVersion).toBe(7);
    expect([...r.lines]).toEqual([1, 2, 3]);
    ds.forEach((d, i) => {
      expect(utf8.decode(canonicalAt(r, i))).toBe(canonicalJson(d));
      expect(recordIdAt(r, i)).toBe(d.record_id);
      expect(utf8.decode(idAt(r, i))).toBe(d.record_id);
      const id = utf8.encode(String(d.record_id));
      expect(r.idHashes[i]).toBe(idHash(id, 0, id.length));
      const want = routeDecision(d, table);
      expect([r.shards[i], r.epochs[i]]).toEqual([want.shard, want.epoch]);
      expect(JSON.parse(utf8.decode(routingAt(r, i)))).toEqual({
        epoch: want.epoch,
        key: want.key,
        pointer: want.pointer,
        strategy: want.strategy,
      });
      expect(utf8.decode(routingAt(r, i))).toBe(routingJson(want));
      expect(r.sameAs[i]).toBe(-1);
    });
  });

  it('writes re-serialized decisions into the storage it is lent, and grows past it if need be', () => {
    const ds = Array.from({ length: 6 }, (_, i) => decision(i));
    const text = utf8.encode(ds.map((d) => sdkLine(d)).join('\n'));
    const plain = prepareBody(text, true, {}, table, 1);
    const out = new Uint8Array(text.length);
    const lent = prepareBody(text, true, {}, table, 1, out);
    if (!plain.ok || !lent.ok) throw new Error('rejected');
    expect(lent.canonical.buffer).toBe(out.buffer);
    expect(lent).toEqual({ ...plain, canonical: lent.canonical });
    expect(lent.canonical).toEqual(plain.canonical);
    ds.forEach((d, i) => expect(utf8.decode(canonicalAt(lent, i))).toBe(canonicalJson(d)));
    // Too small a loan: the decisions are still all there, in a new array.
    const small = new Uint8Array(100);
    const grown = prepareBody(text, true, {}, table, 1, small);
    if (!grown.ok) throw new Error('rejected');
    expect(grown.canonical.buffer).not.toBe(small.buffer);
    expect(grown.canonical).toEqual(plain.canonical);
  });

  it('canonical and other lines alike: long non-ASCII routing keys, repeated record_ids', () => {
    // Entity ids long enough that the routing buffer must grow, with escapes and non-ASCII.
    // (With an escape the fast path declines the line; without one it takes it.)
    const long = (i: number): string =>
      i % 3 === 0 ? `é"\\${'ü'.repeat(200)}-${i}` : `${'ü'.repeat(200)}-${i}`;
    const ds = Array.from({ length: 40 }, (_, i) => decision(i % 30, { entity: long(i % 30) }));
    const lines = ds.map((d, i) => (i % 2 === 0 ? canonicalJson(d) : sdkLine(d)));
    const r = prepareBody(utf8.encode(lines.join('\n')), true, {}, table, 1);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    ds.forEach((d, i) => {
      expect(utf8.decode(canonicalAt(r, i))).toBe(canonicalJson(d));
      expect(utf8.decode(routingAt(r, i))).toBe(routingJson(routeDecision(d, table)));
      expect(r.sameAs[i]).toBe(i < 30 ? -1 : i - 30);
      // A canonical line is used where it lies in the body; only the others were copied.
      expect(r.inBody[i]).toBe(lines[i] === canonicalJson(d) ? 1 : 0);
    });
    expect(r.inBody.filter((x) => x === 1).length).toBeGreaterThanOrEqual(20);
    expect(r.canonical.length).toBe(
      ds.reduce(
        (sum, d, i) => sum + (r.inBody[i] === 1 ? 0 : utf8.encode(canonicalJson(d)).length),
        0,
      ),
    );
  });

  it('a body in a shared slab: only bytes within the body count as the body', () => {
    // Small Buffers (a small request body; the re-serialized bytes of a line) are slices of one
    // shared slab: bytes in the same ArrayBuffer are not necessarily bytes of the body.
    const ds = [decision(1), decision(2)];
    const text = `${canonicalJson(ds[0])}\n${sdkLine(Object.fromEntries(Object.entries(ds[1] as object).reverse()))}`;
    const body = Buffer.from(text);
    expect(body.buffer.byteLength).toBeGreaterThan(body.length); // a slice of the slab
    const r = prepareBody(body, true, {}, table, 1);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect([...r.inBody]).toEqual([1, 0]);
    expect(r.starts[0]).toBe(0);
    ds.forEach((d, i) => expect(utf8.decode(canonicalAt(r, i))).toBe(canonicalJson(d)));
  });

  it('a single-decision body: JSON whitespace around it is not part of the decision', () => {
    const d = decision(7);
    for (const text of [`${canonicalJson(d)}\n`, ` \r\n${canonicalJson(d)}\t\r\n`]) {
      const r = prepareBody(utf8.encode(text), false, {}, table, 1);
      if (!r.ok) throw new Error(JSON.stringify(r.problems));
      expect(r.count).toBe(1);
      expect(utf8.decode(canonicalAt(r, 0))).toBe(canonicalJson(d));
    }
    const empty = prepareBody(utf8.encode(' \n\t'), false, {}, table, 1);
    expect(empty.ok ? [] : empty.problems).toEqual([
      { line: 1, path: '$', code: 'malformed_json', message: 'input is not JSON: empty input' },
    ]);
  });

  it('rejects the whole batch listing every problem with its line and path', () => {
    const good = decision(1);
    const body = utf8.encode(
      [
        sdkLine(good),
        sdkLine({ ...good, ppp_triplet: { provenance: 'p', place: 'x' } }),
        'nope',
        sdkLine(good),
      ].join('\n'),
    );
    const r = prepareBody(body, true, {}, table, 1);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => [p.line, p.path, p.code])).toEqual([
      [2, '$.ppp_triplet.purpose', 'required'],
      [3, '$', 'malformed_json'],
    ]);
  });

  it('reports a decision before the first routing epoch as a problem at $.timestamp_ns', () => {
    const late: EpochTable = {
      epochs: [
        {
          ...(table.epochs[0] as EpochTable['epochs'][0]),
          effective_from_ns: '1900000000000000000',
        },
      ],
    };
    const r = prepareBody(utf8.encode(ndjson([decision(1)])), true, {}, late, 1);
    expect(r.ok ? [] : r.problems.map((p) => [p.path, p.code])).toEqual([
      ['$.timestamp_ns', 'no_epoch'],
    ]);
  });

  it('treats a single-decision body as one line, whatever its newlines', () => {
    const pretty = sdkLine(decision(4)).replace(/, "/g, ',\n  "');
    const r = prepareBody(utf8.encode(pretty), false, {}, table, 1);
    expect(r.ok && r.count).toBe(1);
    const empty = prepareBody(new Uint8Array(0), true, {}, table, 1);
    expect(empty.ok ? 'ok' : empty.problems[0]?.code).toBe('empty');
  });

  it('applies decision limits', () => {
    const r = prepareBody(
      utf8.encode(sdkLine(decision(1, { bytes: 2000 }))),
      false,
      { maxRecordBytes: 1000 },
      table,
      1,
    );
    expect(r.ok ? 'ok' : r.problems[0]?.code).toBe('too_large');
  });
});
