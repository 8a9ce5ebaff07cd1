// Client for a shard's HTTP API (the shard runtime's /v1 endpoints).
import { fromHex } from '../../core/bytes.ts';
import { getJson, getText, joinUrl, postBody } from '../../coordinator/http.ts';
import { HttpShardReader } from '../../coordinator/shard-reader.ts';
import { HttpError } from '../../coordinator/errors.ts';

export interface ShardReceipt {
  shard_id: number;
  seq: number;
  leaf_hash: string;
  record_id: string;
  routing: { epoch: number; strategy: string; key: string };
}

export interface ShardRecord {
  seq: number;
  leaf_hash: string;
  envelope: unknown;
  /** The exact stored bytes of the envelope. */
  envelope_base64?: string;
}

export interface ProofJson {
  hashes: string[];
}

/** A shard's API for clients: the coordinator's reader plus records, proofs and ingest. */
export class ShardClient extends HttpShardReader {
  constructor(url: string, timeoutMs = 30_000) {
    super(url.replace(/\/+$/, ''), timeoutMs);
  }

  checkpointAt(size: number): Promise<string> {
    return getText(joinUrl(this.url, `/v1/checkpoints?size=${size}`), this.timeoutMs);
  }

  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    const body = await getJson<ProofJson>(
      joinUrl(this.url, `/v1/proofs/inclusion?index=${index}&size=${size}`),
      this.timeoutMs,
    );
    return hashesOf(body, this.url);
  }

  record(seq: number): Promise<ShardRecord> {
    return getJson<ShardRecord>(joinUrl(this.url, `/v1/records/${seq}`), this.timeoutMs);
  }

  /** The record with this record_id, or undefined when this shard does not hold it. */
  async recordById(recordId: string): Promise<ShardRecord | undefined> {
    try {
      return await getJson<ShardRecord>(
        joinUrl(this.url, `/v1/records?record_id=${encodeURIComponent(recordId)}`),
        this.timeoutMs,
      );
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  routing(): Promise<unknown> {
    return getJson<unknown>(joinUrl(this.url, '/v1/routing'), this.timeoutMs);
  }

  async submitBatch(ndjson: string): Promise<ShardReceipt[]> {
    const res = await postBody<{ receipts: ShardReceipt[] }>(
      joinUrl(this.url, '/v1/decisions:batch'),
      ndjson,
      'application/x-ndjson',
      this.timeoutMs,
    );
    return res.receipts;
  }
}

export function hashesOf(body: ProofJson, source: string): Uint8Array[] {
  if (!Array.isArray(body.hashes)) {
    throw new HttpError('http_body', source, 'proof response has no hashes array');
  }
  return body.hashes.map((h) => {
    if (typeof h !== 'string')
      throw new HttpError('http_body', source, 'proof hash is not a string');
    return fromHex(h);
  });
}
