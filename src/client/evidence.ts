// Court production: gather, from running services, everything an evidence bundle needs for one
// record, check it with the same offline verifier a court would use, and return it.
import { CodedError } from '../core/errors.ts';
import { bytesEqual, fromHex, toHex, utf8 } from '../core/bytes.ts';
import { BUNDLE_FORMAT, verifyBundle } from '../core/bundle.ts';
import type { BundleReport, EvidenceBundle } from '../core/bundle.ts';
import { parseCheckpointNote, coordinatorOrigin } from '../core/checkpoint.ts';
import { shardEntryInclusionProof } from '../core/global-root/index.ts';
import type { GlobalRootRecord } from '../core/global-root/index.ts';
import { blake3 } from '../core/hash.ts';
import { keyHistoryKeys } from '../core/key-history.ts';
import { reasonOf } from '../core/errors.ts';
import type { CoordinatorClient } from '../clients/coordinator-api.ts';
import { ShardClient } from '../clients/shard-api.ts';
import type { ShardRecord } from '../clients/shard-api.ts';
import type { TokenSource } from '../clients/bearer-token.ts';

export type RecordLocator = { recordId: string } | { shard: number; seq: number };

export type EvidenceErrorCode =
  'not_found' | 'not_sealed' | 'inconsistent' | 'unavailable' | 'ambiguous';

export class EvidenceError extends CodedError<EvidenceErrorCode> {
  override name = 'EvidenceError';
  readonly report: BundleReport | undefined;
  constructor(code: EvidenceErrorCode, message: string, report?: BundleReport) {
    super(code, message);
    this.report = report;
  }
}

export interface EvidenceOptions {
  /** How long to wait for the record's shard checkpoint to be sealed in a global root. */
  waitMs: number;
  timeoutMs: number;
  /** Sent to the shards (which may require it for reads). */
  token?: TokenSource;
  /**
   * Shard id -> URL, in place of (or beside) the coordinator's listing: a retired shard's log
   * served again from its volume has no URL there.
   */
  shardUrls?: ReadonlyMap<number, string>;
  /** Told what the bundle cannot rule out (shards that were not asked for a record_id). */
  onNote?: (text: string) => void;
}

interface Located {
  shard: number;
  client: ShardClient;
  record: ShardRecord;
}

async function locate(
  coordinator: CoordinatorClient,
  at: RecordLocator,
  timeoutMs: number,
  token: TokenSource | undefined,
  overrides: ReadonlyMap<number, string> = new Map(),
  onNote: (text: string) => void = () => undefined,
): Promise<Located> {
  const urls = new Map<number, string>();
  // Listed without a URL: retired shards whose pods are gone. Their logs stay on their volumes
  // and may hold the id too; they are asked only when served again (--shard-url).
  const unserved: number[] = [];
  for (const s of await coordinator.shards()) {
    if (s.url !== null) urls.set(s.shard_id, s.url);
    else if (!overrides.has(s.shard_id)) unserved.push(s.shard_id);
  }
  for (const [id, url] of overrides) urls.set(id, url);
  const unservedText =
    unserved.length === 0
      ? ''
      : `retired shards not served: ${unserved.join(', ')} (serve a retired shard's volume ` +
        'and pass --shard-url ID=URL to include it)';
  const clients = [...urls]
    .sort((a, b) => a[0] - b[0])
    .map(([shard, url]) => ({ shard, client: new ShardClient(url, timeoutMs, token) }));
  if ('recordId' in at) {
    // The coordinator does not index records; the shard that holds it answers, the others 404.
    const found = await Promise.all(
      clients.map(async (c) => {
        try {
          return { ...c, record: await c.client.recordById(at.recordId), error: undefined };
        } catch (err) {
          return { ...c, record: undefined, error: reasonOf(err) };
        }
      }),
    );
    // A record_id is unique within a shard only: two shards may each hold one (the same id with
    // other routing keys). Proving whichever answers first could prove a planted record in
    // place of the genuine one, so every shard must answer and exactly one may hold it.
    const hits = found.filter((f) => f.record !== undefined);
    const down = found.filter((f) => f.error !== undefined);
    const id = JSON.stringify(at.recordId);
    const named = (list: typeof found): string =>
      list.map((f) => `shard ${f.shard} seq ${f.record?.seq}`).join(', ');
    if (hits.length > 1) {
      throw new EvidenceError(
        'ambiguous',
        `record_id ${id} is held by ${hits.length} shards (${named(hits)}); a record_id is unique only within a shard: choose one with --shard N --seq S`,
      );
    }
    const hit = hits[0];
    const downText = down.map((f) => `shard ${f.shard}: ${f.error}`).join('; ');
    if (hit?.record === undefined) {
      throw new EvidenceError(
        down.length > 0 ? 'unavailable' : 'not_found',
        `no shard holds record_id ${id}` +
          (down.length > 0 ? ` (no answer from ${downText})` : '') +
          (unservedText !== '' ? `; ${unservedText}` : ''),
      );
    }
    if (down.length > 0) {
      throw new EvidenceError(
        'unavailable',
        `record_id ${id} is on ${named([hit])}, but not every shard answered (${downText}), so another may hold the same id; retry, or choose with --shard ${hit.shard} --seq ${hit.record.seq}`,
      );
    }
    if (unservedText !== '') {
      onNote(
        `record_id ${id} is on ${named([hit])}; ${unservedText}, so a record with the same id there was not ruled out`,
      );
    }
    return { shard: hit.shard, client: hit.client, record: hit.record };
  }
  const c = clients.find((x) => x.shard === at.shard);
  if (c === undefined)
    throw new EvidenceError('not_found', `the coordinator knows no URL for shard ${at.shard}`);
  return { ...c, record: await c.client.record(at.seq) };
}

async function waitForSeal(
  coordinator: CoordinatorClient,
  shard: number,
  size: number,
  waitMs: number,
): Promise<{ index: number; record: GlobalRootRecord }> {
  const until = Date.now() + waitMs;
  for (;;) {
    const e = await coordinator.sealing(shard, size);
    if (e !== undefined) return e;
    if (Date.now() >= until) {
      throw new EvidenceError(
        'not_sealed',
        `shard ${shard} has not been sealed at size >= ${size} by a global root yet; wait for the next interval (or pass a longer --wait)`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Builds the evidence bundle for one record and verifies it before returning it. */
export async function buildEvidenceBundle(
  coordinator: CoordinatorClient,
  at: RecordLocator,
  opts: EvidenceOptions,
): Promise<EvidenceBundle> {
  const { shard, client, record } = await locate(
    coordinator,
    at,
    opts.timeoutMs,
    opts.token,
    opts.shardUrls,
    opts.onNote,
  );
  const envelope = utf8.decode(record.bytes);
  if (!bytesEqual(blake3.hashLeaf(record.bytes), fromHex(record.leaf_hash))) {
    throw new EvidenceError(
      'inconsistent',
      `shard ${shard} record ${record.seq}: envelope does not hash to its leaf_hash`,
    );
  }
  const meta = record.envelope.meta;
  if (meta.shard !== shard || meta.seq !== record.seq) {
    throw new EvidenceError(
      'inconsistent',
      `envelope says shard ${meta.shard} seq ${meta.seq}, served as shard ${shard} seq ${record.seq}`,
    );
  }

  // The first global root that sealed this shard at a size that contains the record.
  const sealed = await waitForSeal(coordinator, shard, record.seq + 1, opts.waitMs);
  const entry = sealed.record.shard_roots.find((e) => e.shard_id === shard);
  if (entry === undefined || entry.checkpoint === null) {
    throw new EvidenceError(
      'inconsistent',
      `global root ${sealed.record.global_root_id} has no sealed checkpoint for shard ${shard}`,
    );
  }
  const sealedSize = entry.tree_size;
  const inclusion = await client.inclusionProof(record.seq, sealedSize);

  const table = await coordinator.routingTable(sealed.record.routing_epoch_hash);

  // The global root record's place in the global log, under a signed global checkpoint that
  // covers it (the latest; a coordinator signs it right after appending, so wait briefly).
  const until = Date.now() + Math.max(opts.waitMs, 5000);
  let globalCheckpoint = await coordinator.latestCheckpoint();
  let globalSize = parseCheckpointNote(globalCheckpoint).size;
  while (globalSize <= sealed.index) {
    if (Date.now() >= until) {
      throw new EvidenceError(
        'not_sealed',
        `no signed global checkpoint covers global log entry ${sealed.index} yet`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
    globalCheckpoint = await coordinator.latestCheckpoint();
    globalSize = parseCheckpointNote(globalCheckpoint).size;
  }
  const globalInclusion = await coordinator.inclusionProof(sealed.index, globalSize);

  const trust = await coordinator.keys();
  const coordinatorName = sealed.record.signature.key_name;
  const expectedCoordinator = coordinatorOrigin(...originParts(entry.origin));
  if (coordinatorName !== expectedCoordinator) {
    throw new EvidenceError(
      'inconsistent',
      `global root signed by ${coordinatorName}, expected ${expectedCoordinator}`,
    );
  }
  // The logs' own key histories name every version they signed with, also those the trust
  // bundle does not list (yet, or any more): a verifier pins them through the history.
  const histories = await Promise.all([client.keyHistory(), coordinator.keyHistory()]);
  const keys = [
    ...trust.keys
      .filter((k) => k.origin === entry.origin || k.origin === coordinatorName)
      .map((k) => k.verifier_key),
    ...histories.flatMap(keyHistoryKeys),
  ];

  const bundle: EvidenceBundle = {
    format: BUNDLE_FORMAT,
    envelope,
    shard: {
      origin: entry.origin,
      checkpoint: entry.checkpoint,
      inclusion_proof: inclusion.map(toHex),
    },
    seal: {
      record: sealed.record,
      consistency_proof: [],
      entry_proof: shardEntryInclusionProof(sealed.record, shard),
    },
    routing: { epoch_table: table },
    global_log: {
      index: sealed.index,
      checkpoint: globalCheckpoint,
      inclusion_proof: globalInclusion.map(toHex),
    },
    keys: [...new Set(keys)],
  };
  const report = verifyBundle(bundle);
  if (!report.ok) {
    const failed = report.checks.find((c) => !c.ok);
    throw new EvidenceError(
      'inconsistent',
      `the services' answers do not verify: ${failed?.name}: ${failed?.detail}`,
      report,
    );
  }
  return bundle;
}

/** [namespace, cluster] of an AgDR origin `agdr.dev/<ns>/<cluster>/...`. */
function originParts(origin: string): [string, string] {
  const [, ns, cluster] = origin.split('/');
  return [ns as string, cluster as string];
}
