// Client for a shard's HTTP API (the shard runtime's /v1 endpoints, docs/API.md). Every answer
// is checked before it is returned: records are decoded with core's strict envelope decoder,
// routing tables with core's validator, proofs as 32-byte hashes.
import { fromBase64 } from '../core/bytes.ts';
import { decodeEnvelope } from '../core/envelope.ts';
import type { DecodedEnvelope } from '../core/envelope.ts';
import { checkKeyHistory, type KeyHistory } from '../core/key-history.ts';
import { validateEpochTable } from '../core/routing.ts';
import type { EpochTable } from '../core/routing.ts';
import type { TokenSource } from './bearer-token.ts';
import { HttpError } from './errors.ts';
import { getJson, getText, joinUrl, postBody } from './http.ts';
import { isHashHex, isIndex, isJsonObject } from '../core/json-shape.ts';
import type { Receipt } from '../core/receipt-json.ts';
import type { ShapeChecks } from '../core/json-shape.ts';
import { bodyChecks, checked, proofHashes } from './wire.ts';

// A checkpoint note or a consistency proof is at most a few kilobytes; a shard answering with
// more is broken or hostile and must not cost the coordinator memory.
const MAX_ANSWER_BYTES = 256 * 1024;

/** The receipt of one accepted decision. */
export type ShardReceipt = Receipt;

/** One stored record, as the shard served it. */
export interface ShardRecord {
  seq: number;
  /** Lowercase hex, as served (callers recompute it from `bytes` to check it). */
  leaf_hash: string;
  /** The exact stored bytes of the envelope. */
  bytes: Uint8Array;
  /** `bytes` decoded (strictly: they are the canonical encoding of a well-formed envelope). */
  envelope: DecodedEnvelope;
}

function parseRecord(url: string, body: unknown): ShardRecord {
  const c: ShapeChecks = bodyChecks(url);
  const o = c.object(body, '$');
  c.index(o.seq, '$.seq');
  c.hash(o.leaf_hash, '$.leaf_hash');
  c.text(o.envelope_base64, '$.envelope_base64');
  const bytes = checked(url, o.envelope_base64, (b) => fromBase64(b as string));
  return {
    seq: o.seq,
    leaf_hash: o.leaf_hash as string,
    bytes,
    envelope: checked(url, bytes, (b) => decodeEnvelope(b as Uint8Array)),
  };
}

/** A batch answer's receipts, checked (an `http_body` error names the bad field). */
export function parseReceipts(url: string, body: unknown): ShardReceipt[] {
  const c: ShapeChecks = bodyChecks(url);
  const receipts = c.object(body, '$').receipts;
  if (!Array.isArray(receipts)) throw new HttpError('http_body', url, `${url}: no receipts array`);
  // A client reads thousands of receipts per answer: each is tested in one predicate, and only
  // one that fails it is checked field by field for the error that names the field.
  for (let i = 0; i < receipts.length; i++) {
    if (!isReceipt(receipts[i])) checkReceipt(c, url, receipts[i], `$.receipts[${i}]`);
  }
  return receipts as ShardReceipt[];
}

function isReceipt(r: unknown): boolean {
  if (!isJsonObject(r)) return false;
  const routing = r.routing;
  return (
    isIndex(r.shard_id) &&
    isIndex(r.seq) &&
    isHashHex(r.leaf_hash) &&
    typeof r.record_id === 'string' &&
    r.record_id.length > 0 &&
    isJsonObject(routing) &&
    isIndex(routing.epoch) &&
    typeof routing.strategy === 'string' &&
    routing.strategy.length > 0 &&
    isRoutingKey(routing.key, routing.pointer)
  );
}

/**
 * A routing key and its pointer as a receipt holds them: both strings, or both null (a
 * domain-partitioned decision without a domain, sent to the default shard).
 */
function isRoutingKey(key: unknown, pointer: unknown): boolean {
  return (
    (typeof key === 'string' && typeof pointer === 'string') || (key === null && pointer === null)
  );
}

function checkReceipt(c: ShapeChecks, url: string, r: unknown, p: string): void {
  const o = c.object(r, p);
  c.index(o.shard_id, `${p}.shard_id`);
  c.index(o.seq, `${p}.seq`);
  c.hash(o.leaf_hash, `${p}.leaf_hash`);
  c.text(o.record_id, `${p}.record_id`);
  const routing = c.object(o.routing, `${p}.routing`);
  c.index(routing.epoch, `${p}.routing.epoch`);
  c.text(routing.strategy, `${p}.routing.strategy`);
  if (typeof routing.key !== 'string' && routing.key !== null) {
    throw new HttpError('http_body', url, `${url}: ${p}.routing.key must be a string or null`);
  }
  if (!isRoutingKey(routing.key, routing.pointer)) {
    throw new HttpError(
      'http_body',
      url,
      `${url}: ${p}.routing.pointer must be a string with a string key, null with a null key`,
    );
  }
}

/** A shard's API: what a coordinator round reads, and records, proofs and ingest for clients. */
export class ShardClient {
  readonly url: string;
  readonly timeoutMs: number;
  /** Sent with every request when the shard authenticates its callers (docs/API.md). */
  readonly token: TokenSource | undefined;
  constructor(url: string, timeoutMs = 30_000, token?: TokenSource) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = timeoutMs;
    this.token = token;
  }

  latestCheckpoint(signal?: AbortSignal): Promise<string> {
    return getText(
      joinUrl(this.url, '/v1/checkpoint'),
      this.timeoutMs,
      signal,
      MAX_ANSWER_BYTES,
      this.token,
    );
  }

  async consistencyProof(from: number, to: number, signal?: AbortSignal): Promise<Uint8Array[]> {
    const url = joinUrl(this.url, `/v1/proofs/consistency?from=${from}&to=${to}`);
    return proofHashes(
      url,
      await getJson(url, this.timeoutMs, signal, MAX_ANSWER_BYTES, this.token),
    );
  }

  checkpointAt(size: number): Promise<string> {
    return getText(
      joinUrl(this.url, `/v1/checkpoints?size=${size}`),
      this.timeoutMs,
      undefined,
      undefined,
      this.token,
    );
  }

  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    const url = joinUrl(this.url, `/v1/proofs/inclusion?index=${index}&size=${size}`);
    return proofHashes(url, await getJson(url, this.timeoutMs, undefined, undefined, this.token));
  }

  async record(seq: number): Promise<ShardRecord> {
    const url = joinUrl(this.url, `/v1/records/${seq}`);
    return parseRecord(url, await getJson(url, this.timeoutMs, undefined, undefined, this.token));
  }

  /** The record with this record_id, or undefined when this shard does not hold it. */
  async recordById(recordId: string): Promise<ShardRecord | undefined> {
    const url = joinUrl(this.url, `/v1/records?record_id=${encodeURIComponent(recordId)}`);
    try {
      return parseRecord(url, await getJson(url, this.timeoutMs, undefined, undefined, this.token));
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** The shard key's history: its first version and a signed transition per rotation. */
  async keyHistory(): Promise<KeyHistory> {
    const url = joinUrl(this.url, '/v1/key-history');
    return checked(
      url,
      await getJson(url, this.timeoutMs, undefined, undefined, this.token),
      checkKeyHistory,
    );
  }

  async routing(): Promise<EpochTable> {
    const url = joinUrl(this.url, '/v1/routing');
    return checked(
      url,
      await getJson(url, this.timeoutMs, undefined, undefined, this.token),
      validateEpochTable,
    );
  }

  async submitBatch(ndjson: string): Promise<ShardReceipt[]> {
    const url = joinUrl(this.url, '/v1/decisions:batch');
    const body = await postBody(
      url,
      ndjson,
      'application/x-ndjson',
      this.timeoutMs,
      undefined,
      this.token,
    );
    return parseReceipts(url, body);
  }
}
