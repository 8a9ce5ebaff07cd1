// A shard's answer to a batch, read into what the client does next: acknowledge, route again
// (the table is stale), refuse some lines for good and send the rest again, retry the whole
// batch later, or refuse it for good. The shard's error bodies are docs/API.md's.
import type { HttpResponse } from '../clients/http.ts';
import { SubmitError } from './errors.ts';
import type { SubmitErrorCode, SubmitProblem } from './errors.ts';

type ErrorFor = (shard: number) => SubmitError;

export type Refusal =
  | { kind: 'ok' }
  | { kind: 'stale_routing'; error: ErrorFor }
  /** 1-based line -> its error; nothing of the request was appended. */
  | { kind: 'per_line'; lines: Map<number, ErrorFor> }
  | { kind: 'retry'; reason: string }
  | { kind: 'final'; error: ErrorFor };

interface ErrorBody {
  code?: unknown;
  message?: unknown;
  path?: unknown;
  problems?: unknown;
  conflicts?: unknown;
}

/** 503 (overloaded, shutting down, outcome unknown, ...), gateways, timeouts: try again. */
const RETRIED = new Set([408, 429, 502, 503, 504]);

export function refusalOf(res: HttpResponse): Refusal {
  if (res.status === 200) return { kind: 'ok' };
  const body = errorBody(res);
  const code = typeof body.code === 'string' ? body.code : `http_${res.status}`;
  const message = typeof body.message === 'string' ? body.message : `HTTP ${res.status}`;
  const status = res.status;
  const whole =
    (c: SubmitErrorCode, path?: string): ErrorFor =>
    (shard) =>
      new SubmitError(c, `shard ${shard}: ${code}: ${message}`, { shard, status, path });
  if (RETRIED.has(status)) return { kind: 'retry', reason: `HTTP ${status} ${code}: ${message}` };
  if (status === 421) return { kind: 'stale_routing', error: whole('misrouted') };
  if (status === 409 && code === 'shard_retired') {
    return { kind: 'stale_routing', error: whole('shard_retired') };
  }
  if (status === 409 && code === 'record_id_conflict' && Array.isArray(body.conflicts)) {
    const lines = new Map<number, ErrorFor>();
    for (const c of body.conflicts as { line?: unknown; record_id?: unknown; seq?: unknown }[]) {
      if (typeof c.line !== 'number') continue;
      const where = typeof c.seq === 'number' ? ` (stored at seq ${c.seq})` : '';
      lines.set(
        c.line,
        (shard) =>
          new SubmitError(
            'record_id_conflict',
            `shard ${shard}: record_id ${String(c.record_id)} is taken by a different decision${where}`,
            { shard, status, path: '$.record_id' },
          ),
      );
    }
    if (lines.size > 0) return { kind: 'per_line', lines };
  }
  if (status === 400 && code === 'invalid_decision' && Array.isArray(body.problems)) {
    const byLine = new Map<number, SubmitProblem[]>();
    for (const p of body.problems as (SubmitProblem & { line?: unknown })[]) {
      if (typeof p.line !== 'number') continue;
      const list = byLine.get(p.line) ?? [];
      list.push({ path: String(p.path), code: String(p.code), message: String(p.message) });
      byLine.set(p.line, list);
    }
    if (byLine.size > 0) {
      const lines = new Map<number, ErrorFor>();
      for (const [line, problems] of byLine) {
        lines.set(
          line,
          (shard) =>
            new SubmitError(
              'invalid_decision',
              `shard ${shard}: ${problems[0]?.path}: ${problems[0]?.message}`,
              { shard, status, problems },
            ),
        );
      }
      return { kind: 'per_line', lines };
    }
  }
  return {
    kind: 'final',
    error: whole('rejected', typeof body.path === 'string' ? body.path : undefined),
  };
}

function errorBody(res: HttpResponse): ErrorBody {
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { error?: unknown };
    if (typeof parsed.error === 'object' && parsed.error !== null) return parsed.error as ErrorBody;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  return { message: res.body.toString('utf8').slice(0, 300).trim() || `HTTP ${res.status}` };
}
