// Reads a shard over its HTTP API: the two calls a round needs.
import { fromHex } from '../core/bytes.ts';
import { HttpError } from './errors.ts';
import { getJson, getText, joinUrl } from './http.ts';
import type { ShardReader } from './shard-check.ts';

// A checkpoint note or a consistency proof is at most a few kilobytes; a shard answering with
// more is broken or hostile and must not cost the coordinator memory.
const MAX_ANSWER_BYTES = 256 * 1024;

export class HttpShardReader implements ShardReader {
  readonly url: string;
  readonly timeoutMs: number;
  constructor(url: string, timeoutMs: number) {
    this.url = url;
    this.timeoutMs = timeoutMs;
  }

  latestCheckpoint(signal?: AbortSignal): Promise<string> {
    return getText(joinUrl(this.url, '/v1/checkpoint'), this.timeoutMs, signal, MAX_ANSWER_BYTES);
  }

  async consistencyProof(from: number, to: number, signal?: AbortSignal): Promise<Uint8Array[]> {
    const url = joinUrl(this.url, `/v1/proofs/consistency?from=${from}&to=${to}`);
    const body = await getJson<{ hashes?: unknown }>(url, this.timeoutMs, signal, MAX_ANSWER_BYTES);
    if (!Array.isArray(body.hashes) || !body.hashes.every((h) => typeof h === 'string')) {
      throw new HttpError('http_body', url, 'consistency proof has no hashes array');
    }
    try {
      return body.hashes.map((h: string) => fromHex(h));
    } catch (err) {
      throw new HttpError('http_body', url, `consistency proof: ${(err as Error).message}`);
    }
  }
}
