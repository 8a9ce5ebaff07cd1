import { describe, expect, it } from 'vitest';
import { refusalOf } from '../../../src/client/refusal.ts';
import type { HttpResponse } from '../../../src/clients/http.ts';

const answer = (status: number, body: unknown, headers = {}): HttpResponse => ({
  status,
  contentType: 'application/json',
  headers,
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
});
const err = (code: string, extra: Record<string, unknown> = {}) => ({
  error: { code, message: `${code} message`, ...extra },
});

describe('refusalOf (a shard answer to a batch)', () => {
  it('acknowledges 200 and retries 503s, 408, 429 and gateway errors', () => {
    expect(refusalOf(answer(200, { receipts: [] })).kind).toBe('ok');
    for (const [status, code] of [
      [503, 'overloaded'],
      [503, 'outcome_unknown'],
      [503, 'shutting_down'],
      [408, 'body_timeout'],
      [429, 'x'],
      [502, 'x'],
    ] as const) {
      const r = refusalOf(answer(status, err(code)));
      expect(r).toEqual({ kind: 'retry', reason: `HTTP ${status} ${code}: ${code} message` });
    }
    expect(refusalOf(answer(503, '<html>proxy</html>'))).toEqual({
      kind: 'retry',
      reason: 'HTTP 503 http_503: <html>proxy</html>',
    });
  });

  it('routes again on 421 and shard_retired', () => {
    const r = refusalOf(answer(421, err('misrouted', { shard_id: 2 })));
    expect(r.kind).toBe('stale_routing');
    if (r.kind === 'stale_routing') expect(r.error(1).code).toBe('misrouted');
    const retired = refusalOf(answer(409, err('shard_retired')));
    expect(retired.kind).toBe('stale_routing');
    if (retired.kind === 'stale_routing') expect(retired.error(1).code).toBe('shard_retired');
  });

  it('refuses exactly the conflicting or invalid lines; the others go again', () => {
    const c = refusalOf(
      answer(409, err('record_id_conflict', { conflicts: [{ line: 2, record_id: 'a', seq: 7 }] })),
    );
    expect(c.kind).toBe('per_line');
    if (c.kind !== 'per_line') return;
    expect([...c.lines.keys()]).toEqual([2]);
    const e = c.lines.get(2)?.(3);
    expect([e?.code, e?.path, e?.shard, e?.status]).toEqual([
      'record_id_conflict',
      '$.record_id',
      3,
      409,
    ]);
    expect(e?.message).toMatch(/record_id a is taken by a different decision \(stored at seq 7\)/);

    const bad = refusalOf(
      answer(
        400,
        err('invalid_decision', {
          problems: [
            { line: 3, path: '$.ctx', code: 'type', message: 'must be an object' },
            { line: 3, path: '$.output', code: 'required', message: 'is required' },
          ],
        }),
      ),
    );
    if (bad.kind !== 'per_line') throw new Error(bad.kind);
    const p = bad.lines.get(3)?.(0);
    expect(p?.problems.map((x) => x.path)).toEqual(['$.ctx', '$.output']);
    expect(p?.path).toBe('$.ctx');
  });

  it('refuses the whole batch for any other answer (never retried)', () => {
    for (const [status, code] of [
      [409, 'record_id_conflict'],
      [413, 'body_too_large'],
      [401, 'unauthorized'],
      [500, 'internal'],
    ] as const) {
      const r = refusalOf(answer(status, err(code)));
      expect(r.kind).toBe('final');
      if (r.kind === 'final') expect(r.error(0).message).toBe(`shard 0: ${code}: ${code} message`);
    }
  });
});
