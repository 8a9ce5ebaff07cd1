// The full check of a batch answer's receipts (what a client falls back to when an answer is not
// the shard's exact form, and what ShardClient.submitBatch uses): any JSON spelling of valid
// receipts is taken, and an invalid one is an `http_body` error naming its field.
import { describe, expect, it } from 'vitest';
import type { EnvelopeRouting } from '../../../src/core/envelope.ts';
import { HttpError } from '../../../src/clients/errors.ts';
import { parseReceipts, type ShardReceipt } from '../../../src/clients/shard-api.ts';

const URL = 'http://127.0.0.1:1/v1/decisions:batch';
const routing: EnvelopeRouting = {
  epoch: 2,
  key: 'entity-7',
  pointer: '/ctx/entity_id',
  strategy: 'entity-hash',
};
const receipts: ShardReceipt[] = [0, 1].map((i) => ({
  shard_id: 1,
  seq: 10 + i,
  leaf_hash: `${i}`.repeat(64),
  record_id: `r-${i}`,
  routing,
}));
const read = (text: string): ShardReceipt[] => parseReceipts(URL, JSON.parse(text) as unknown);

function fault(text: string): HttpError {
  try {
    read(text);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).code).toBe('http_body');
    return err as HttpError;
  }
  throw new Error(`no error for ${text}`);
}

describe('parseReceipts', () => {
  it('takes any JSON spelling of valid receipts', () => {
    for (const text of [
      JSON.stringify({ receipts }),
      JSON.stringify({ receipts }, null, 2),
      JSON.stringify({ receipts }).replace('"r-0"', '"r\\u002d0"'),
    ]) {
      expect(read(text)).toEqual(receipts);
    }
  });

  it('names the field of a bad receipt', () => {
    const upper = JSON.stringify({ receipts }).replace('0'.repeat(64), 'A'.repeat(64));
    expect(fault(upper).message).toContain('$.receipts[0].leaf_hash');
    expect(fault('{"receipts":{}}').message).toContain('no receipts array');
    const noKey = { ...receipts[1], routing: { epoch: 2, strategy: 'entity-hash' } };
    expect(fault(JSON.stringify({ receipts: [receipts[0], noKey] })).message).toContain(
      '$.receipts[1].routing.key',
    );
  });

  it('takes a null key with a null pointer (a domain default), and neither alone', () => {
    const byDefault = { epoch: 2, key: null, pointer: null, strategy: 'domain-partitioned' };
    const defaults = receipts.map((r) => ({ ...r, routing: byDefault }));
    expect(read(JSON.stringify({ receipts: defaults }))).toEqual(defaults);
    for (const half of [
      { ...byDefault, pointer: '/domain' },
      { ...byDefault, key: 'd' },
    ]) {
      const bad = { receipts: [receipts[0], { ...receipts[1], routing: half }] };
      expect(fault(JSON.stringify(bad)).message).toContain('$.receipts[1].routing.pointer');
    }
  });

  it('tests hashes for 64 lowercase hex digits', () => {
    const hash = 'abcdef0123456789'.repeat(4);
    const one = (leaf_hash: string) =>
      JSON.stringify({ receipts: [{ ...receipts[0], leaf_hash }] });
    expect(read(one(hash))[0]?.leaf_hash).toBe(hash);
    for (const bad of [hash.slice(1), `${hash}0`, hash.replace('a', 'g'), hash.replace('a', 'A')]) {
      expect(fault(one(bad)).message).toContain('$.receipts[0].leaf_hash');
    }
  });
});
