// AgdrClient: submit decisions to the shards they route to, batched, retried and acknowledged
// once durable; prove and verify records. Built on src/clients (HTTP, shard and coordinator
// APIs) and src/core (validation, canonical JSON, routing, bundle verification).
import { verifyBundle } from '../core/bundle.ts';
import type { BundleReport, EvidenceBundle, TrustAnchor } from '../core/bundle.ts';
import { reasonOf } from '../core/errors.ts';
import { readReceiptBatch } from '../core/receipt-json.ts';
import type { EpochTable } from '../core/routing.ts';
import { CoordinatorClient } from '../clients/coordinator-api.ts';
import { ClientError, HttpError } from '../clients/errors.ts';
import { joinUrl, request, type HttpResponse } from '../clients/http.ts';
import { parseReceipts } from '../clients/shard-api.ts';
import { parseShardDirectory } from '../clients/shard-endpoints.ts';
import type { ShardDirectory } from '../clients/shard-endpoints.ts';
import type { TrustBundle } from '../clients/trust.ts';
import { backoffDelay, retryAfterMs } from './backoff.ts';
import type { BackoffPolicy } from './backoff.ts';
import { ByteBudget } from './byte-budget.ts';
import { ShardDirectoryView } from './directory.ts';
import { SubmitError } from './errors.ts';
import type { SubmitProblem } from './errors.ts';
import { buildEvidenceBundle } from './evidence.ts';
import type { Owner, ReadyDecision } from './in-flight.ts';
import { Lane } from './lane.ts';
import type { LaneLimits } from './lane.ts';
import { UnreadableKey } from './line-scan.ts';
import { bytesOf, prepareInput, prepareToSend, routeOf } from './prepare.ts';
import { SlabPool, slabBody } from './slabs.ts';
import type { DecisionInput } from './prepare.ts';
import { refusalOf } from './refusal.ts';
import type { AgdrClientOptions, Receipt, SubmitOutcome } from './types.ts';
import { checkToken } from '../clients/bearer-token.ts';
import type { TokenSource } from '../clients/bearer-token.ts';

const NDJSON = { 'content-type': 'application/x-ndjson' };

export interface ProveOptions {
  /** How long to wait for the record to be sealed in a global root (default 0: not at all). */
  waitMs?: number;
}

/** What `check` says of a decision: where it would go, or why it cannot be sent. */
export type CheckResult =
  { ok: true; shard: number; recordId: string } | { ok: false; problems: SubmitProblem[] };

export class AgdrClient {
  readonly #directory: ShardDirectoryView;
  readonly #coordinator: CoordinatorClient | undefined;
  readonly #lanes = new Map<number, Lane>();
  readonly #budget: ByteBudget;
  readonly #slabs = new SlabPool(8);
  readonly #limits: LaneLimits;
  readonly #timeoutMs: number;
  readonly #retryForMs: number;
  readonly #backoff: BackoffPolicy;
  readonly #token: TokenSource | undefined;
  /** Decisions waiting for the routing table (the first load or a reload). */
  #parked: ReadyDecision[] = [];
  #loading: Promise<void> | undefined;
  #unsettled = 0;
  #drained: (() => void)[] = [];

  constructor(opts: AgdrClientOptions) {
    if ((opts.coordinator === undefined) === (opts.shards === undefined)) {
      throw new ClientError('bad_config', 'give exactly one of coordinator or shards');
    }
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#retryForMs = opts.retryForMs ?? 120_000;
    this.#backoff = opts.backoff ?? { baseMs: 100, maxMs: 5_000 };
    this.#token = tokenSource(opts.token);
    this.#budget = new ByteBudget(opts.maxInFlightBytes ?? 32 * 1024 * 1024);
    this.#limits = {
      lingerMs: opts.lingerMs ?? 5,
      maxBatchDecisions: opts.maxBatchDecisions ?? 2000,
      maxBatchBytes: opts.maxBatchBytes ?? 4 * 1024 * 1024,
      maxRequests: opts.requestsPerShard ?? 2,
    };
    if (opts.coordinator !== undefined) {
      this.#coordinator = new CoordinatorClient(opts.coordinator, this.#timeoutMs);
      this.#directory = new ShardDirectoryView(
        { kind: 'coordinator', coordinator: this.#coordinator, table: opts.routing },
        this.#timeoutMs,
        this.#token,
      );
    } else {
      this.#directory = new ShardDirectoryView(
        { kind: 'shards', shards: shardDirectory(opts.shards ?? []), table: opts.routing },
        this.#timeoutMs,
        this.#token,
      );
    }
  }

  /** Loads the routing table and the shard URLs; `submit` does it on first use. */
  ready(): Promise<void> {
    if (this.#directory.loaded) return Promise.resolve();
    this.#loading ??= this.#directory.load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  /** The routing epoch table the client routes by now. */
  get routingTable(): AgdrClientRouting {
    return { table: this.#directory.view.table, hash: this.#directory.view.hash };
  }

  /**
   * Validates and routes a decision without sending it (after `ready()`): the shard it goes
   * to, or every problem with its field path.
   */
  check(input: DecisionInput): CheckResult {
    const p = prepareInput(input);
    if (!p.ok) return { ok: false, problems: p.problems };
    const r = routeOf(p.decision.source, this.#directory.view.table);
    if (!r.ok) return { ok: false, problems: [r.problem] };
    return { ok: true, shard: r.route.shard, recordId: p.decision.recordId };
  }

  /**
   * Submits one decision; resolves with its receipt once the shard has it durably, rejects
   * with a `SubmitError` (invalid, conflict, unavailable after retries, ...).
   */
  async submit(input: DecisionInput): Promise<Receipt> {
    const p = prepareToSend(input);
    if (!p.ok) throw invalid(p.problems);
    await this.#budget.take(p.decision.size);
    return new Promise<Receipt>((resolve, reject) =>
      this.#enqueue(
        p.decision,
        0,
        this.#owner((d, receipt, error) => {
          this.#budget.give(d.size);
          if (error === undefined) resolve(receipt as Receipt);
          else reject(error);
        }),
      ),
    );
  }

  /**
   * Submits every decision of `items` (read as they arrive, and only as fast as the in-flight
   * budget allows) and yields each one's outcome as it settles, in completion order. An
   * invalid item yields its error; the rest go on. A failure of the iterable itself is thrown
   * once everything already submitted has settled.
   */
  async *submitMany(
    items: Iterable<DecisionInput> | AsyncIterable<DecisionInput>,
  ): AsyncGenerator<SubmitOutcome, void, undefined> {
    const outcomes = this.#stream(async (submit) => {
      for await (const input of items) if (!(await submit(input))) return;
    });
    for await (const settled of outcomes) yield* settled;
  }

  /**
   * `submitMany` for input that comes in groups (a read chunk's lines): takes a group at a time
   * and yields the outcomes settled since the last yield as one array, in completion order;
   * `index` counts items across groups. One asynchronous step per group and per array, not per
   * decision, for streams of millions.
   */
  async *submitGroups(
    groups: Iterable<readonly DecisionInput[]> | AsyncIterable<readonly DecisionInput[]>,
  ): AsyncGenerator<SubmitOutcome[], void, undefined> {
    yield* this.#stream(async (submit) => {
      for await (const group of groups) {
        for (const input of group) {
          const more = submit(input);
          // Only a full in-flight budget (or a stop) makes this wait.
          if (more !== true && !(await more)) return;
        }
      }
    });
  }

  /**
   * The engine of `submitMany` and `submitGroups`: `feed` calls `submit` for every input item
   * in order (true: go on; a promise when it had to wait for budget; false: stop reading) and
   * the outcomes come back in arrays of what settled since the last one.
   */
  async *#stream(
    feed: (submit: (input: DecisionInput) => boolean | Promise<boolean>) => Promise<void>,
  ): AsyncGenerator<SubmitOutcome[], void, undefined> {
    let done: SubmitOutcome[] = [];
    let wake: (() => void) | undefined;
    let pending = 0;
    let index = 0;
    let finished = false;
    let stopped = false;
    let failure: { error: unknown } | undefined;
    const push = (o: SubmitOutcome): void => {
      done.push(o);
      wake?.();
    };
    // One callback for the whole stream, not a promise per decision: a long stream settles
    // millions of them.
    const settle = this.#owner((d, receipt, error) => {
      this.#budget.give(d.size);
      pending--;
      push(
        error === undefined
          ? { index: d.tag, ok: true, receipt: receipt as Receipt }
          : { index: d.tag, ok: false, error },
      );
    });
    const send = (decision: ReadyDecision, i: number): boolean => {
      pending++;
      this.#enqueue(decision, i, settle);
      return !stopped;
    };
    const submit = (input: DecisionInput): boolean | Promise<boolean> => {
      if (stopped) return false;
      const i = index++;
      const p = prepareToSend(input);
      if (!p.ok) {
        push({ index: i, ok: false, error: invalid(p.problems) });
        return true;
      }
      const decision = p.decision;
      if (this.#budget.tryTake(decision.size)) return send(decision, i);
      // Room is made by outcomes settling; their receipts reach the consumer in this turn's
      // microtasks, so reading goes on in the next turn: the receipts then die before the burst
      // of reading that follows allocates enough to collect them into the old generation.
      return this.#budget
        .take(decision.size)
        .then(nextTurn)
        .then(() => send(decision, i));
    };
    const producing = (async () => {
      try {
        await feed(submit);
      } catch (error) {
        failure = { error };
      } finally {
        finished = true;
        wake?.();
      }
    })();
    try {
      for (;;) {
        if (done.length > 0) {
          const settled = done;
          done = [];
          yield settled;
          continue;
        }
        if (finished && pending === 0) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      stopped = true;
      await producing;
    }
    if (failure !== undefined) throw failure.error;
  }

  /** Sends everything queued now, without waiting for the linger time. */
  flush(): void {
    for (const lane of this.#lanes.values()) lane.flush();
  }

  /** Resolves once every decision submitted so far has settled. */
  drain(): Promise<void> {
    this.flush();
    if (this.#unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /**
   * The evidence bundle of a record, gathered from the coordinator and its shard and verified
   * before it is returned (needs `coordinator`). Fails with an `EvidenceError` (`not_found`,
   * `not_sealed` until a global root seals it, `ambiguous`, ...).
   */
  prove(recordId: string, opts: ProveOptions = {}): Promise<EvidenceBundle> {
    if (this.#coordinator === undefined) {
      throw new ClientError('bad_config', 'prove needs the coordinator option');
    }
    return buildEvidenceBundle(
      this.#coordinator,
      { recordId },
      { waitMs: opts.waitMs ?? 0, timeoutMs: this.#timeoutMs, token: this.#token },
    );
  }

  /** The coordinator's trust bundle (every shard's and the coordinator's verifier keys). */
  trustBundle(): Promise<TrustBundle> {
    if (this.#coordinator === undefined) {
      throw new ClientError('bad_config', 'the trust bundle comes from the coordinator option');
    }
    return this.#coordinator.keys();
  }

  /** Offline verification of a bundle (`AgdrClient.verify` needs no client). */
  verify(bundle: unknown, trust?: TrustBundle | readonly TrustAnchor[]): BundleReport {
    return verify(bundle, trust);
  }

  // ---------------------------------------------------------------- routing and sending

  #enqueue(decision: ReadyDecision, tag: number, owner: Owner): void {
    this.#unsettled++;
    decision.submitted(tag, owner);
    this.#route(decision);
  }

  /** `tell`, after the client's own bookkeeping of a settled decision (one per stream). */
  #owner(tell: Owner): Owner {
    return (d, receipt, error) => {
      d.slab?.release();
      d.slab = undefined;
      if (--this.#unsettled === 0) for (const w of this.#drained.splice(0)) w();
      tell(d, receipt, error);
    };
  }

  /** Puts an item in its shard's lane, or parks it until the routing table is (re)loaded. */
  #route(item: ReadyDecision): void {
    const dir = this.#directory;
    if (!dir.loaded || dir.reloading !== undefined) {
      this.#park(item, dir.loaded ? dir.reloading : this.ready());
      return;
    }
    let r: ReturnType<typeof routeOf>;
    try {
      r = routeOf(item.source, dir.view.table);
    } catch (err) {
      // A key of the text the scan cannot read exactly: the full path validates and reads it,
      // and its decision flies on in place of the scanned one.
      if (!(err instanceof UnreadableKey)) throw err;
      const p = prepareInput(bytesOf(item));
      if (!p.ok) {
        item.reject(invalid(p.problems));
        return;
      }
      p.decision.adopt(item);
      this.#budget.exchange(item.size, p.decision.size);
      item = p.decision;
      r = routeOf(item.source, dir.view.table);
    }
    if (!r.ok) {
      item.reject(invalid([r.problem]));
      return;
    }
    const shard = r.route.shard;
    const url = dir.urlOf(shard);
    if (url === undefined) {
      // A shard the client has not heard of yet (a scale-up the coordinator has not listed
      // yet): ask again, with backoff, until the decision's retry time is up.
      const now = clock();
      if (item.deadline === 0) item.deadline = now + this.#retryForMs;
      item.shard = shard;
      if (now >= item.deadline) {
        item.reject(
          new SubmitError('unknown_shard', `no URL is known for shard ${shard}`, { shard }),
        );
        return;
      }
      const wait = backoffDelay(this.#backoff, ++item.attempts, Math.random, 100);
      this.#park(
        item,
        dir.reload(undefined).then(
          () => sleep(wait),
          () => sleep(wait),
        ),
      );
      return;
    }
    item.shard = shard;
    let lane = this.#lanes.get(shard);
    if (lane === undefined) {
      lane = new Lane(shard, url, this.#limits, (l, batch) => this.#send(l, batch), this.#slabs);
      this.#lanes.set(shard, lane);
    }
    lane.url = url;
    lane.push(item);
  }

  #park(item: ReadyDecision, until: Promise<void> | undefined): void {
    this.#parked.push(item);
    if (this.#parked.length > 1) return;
    const release = (error?: unknown): void => {
      const parked = this.#parked;
      this.#parked = [];
      for (const p of parked) {
        if (error !== undefined && !this.#directory.loaded) {
          p.reject(
            new SubmitError('unavailable', `cannot load the routing table: ${reasonOf(error)}`),
          );
        } else this.#route(p);
      }
    };
    void (until ?? Promise.resolve()).then(() => release(), release);
  }

  /** One batch to one shard, retried until it is answered for good or its deadline passes. */
  async #send(lane: Lane, batch: ReadyDecision[]): Promise<void> {
    const now = clock();
    for (const item of batch) if (item.deadline === 0) item.deadline = now + this.#retryForMs;
    // The lines as the lane's slabs hold them (each with its newline): a part or two per request.
    const body = slabBody(batch);
    const url = joinUrl(lane.url, '/v1/decisions:batch');
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse | undefined;
      let reason = '';
      try {
        res = await request(url, {
          method: 'POST',
          body,
          headers: NDJSON,
          timeoutMs: this.#timeoutMs,
          token: this.#token,
        });
      } catch (err) {
        // A connection that failed or timed out may or may not have appended the batch; the
        // same record_ids again get their original receipts, so resending is safe.
        if (!(err instanceof HttpError)) {
          // A token that cannot be had (an unreadable token file) refuses the batch.
          if (!(err instanceof ClientError)) throw err;
          const error = new SubmitError('rejected', err.message, { shard: lane.shard });
          for (const item of batch) item.reject(error);
          return;
        }
        reason = err.message;
      }
      if (res !== undefined) {
        this.#noticeRoutingHash(res, lane.url);
        const refusal = refusalOf(res);
        if (refusal.kind === 'ok') {
          this.#acknowledge(url, batch, res, lane.shard);
          return;
        }
        if (refusal.kind === 'stale_routing') {
          await this.#reroute(lane, batch, attempt, refusal.error);
          return;
        }
        if (refusal.kind === 'per_line') {
          // Those lines are refused for good; nothing of the request was appended, so the
          // others go again.
          for (const [line, error] of refusal.lines) batch[line - 1]?.reject(error(lane.shard));
          for (let i = 0; i < batch.length; i++) {
            if (!refusal.lines.has(i + 1)) this.#route(batch[i] as ReadyDecision);
          }
          return;
        }
        if (refusal.kind === 'final') {
          const error = refusal.error(lane.shard);
          for (const item of batch) item.reject(error);
          return;
        }
        reason = refusal.reason;
      }
      const delay = backoffDelay(
        this.#backoff,
        attempt,
        Math.random,
        res === undefined ? 0 : retryAfterMs(res.headers['retry-after']),
      );
      const deadline = Math.min(...batch.map((i) => i.deadline));
      if (clock() + delay > deadline) {
        const error = new SubmitError(
          'unavailable',
          `shard ${lane.shard} (${lane.url}) did not take the decision within ${this.#retryForMs} ms: ${reason}`,
          { shard: lane.shard, status: res?.status },
        );
        for (const item of batch) item.reject(error);
        return;
      }
      await sleep(delay);
    }
  }

  #acknowledge(url: string, batch: ReadyDecision[], res: HttpResponse, shard: number): void {
    // The shard's own form, every record_id the one sent: read from the bytes, no parse.
    const exact = readReceiptBatch(res.body, batch.length, (i) => batch[i] as ReadyDecision);
    if (exact !== undefined) {
      for (let i = 0; i < batch.length; i++) {
        (batch[i] as ReadyDecision).resolve(exact[i] as Receipt);
      }
      return;
    }
    let receipts: Receipt[];
    try {
      receipts = parseReceipts(url, JSON.parse(res.body.toString('utf8')) as unknown);
      if (receipts.length !== batch.length) {
        throw new Error(`${receipts.length} receipts for ${batch.length} decisions`);
      }
    } catch (err) {
      const error = new SubmitError('rejected', `unusable answer from ${url}: ${reasonOf(err)}`, {
        shard,
        status: res.status,
      });
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const receipt = receipts[i] as Receipt;
      if (receipt.record_id !== item.recordId) {
        item.reject(
          new SubmitError(
            'rejected',
            `${url} answered receipt ${i} for record_id ${receipt.record_id}, not ${item.recordId}`,
            { shard, status: res.status },
          ),
        );
      } else item.resolve(receipt);
    });
  }

  /** A shard's table differs from ours: reload (in the background; routing waits for it). */
  #noticeRoutingHash(res: HttpResponse, shardUrl: string): void {
    const hash = res.headers['x-agdr-routing-hash'];
    if (typeof hash !== 'string' || hash === this.#directory.view.hash) return;
    if (this.#directory.reloading !== undefined) return;
    this.#directory.reload(shardUrl).catch(() => {
      // The next answer with a differing hash (or a 421) asks again.
    });
  }

  /** 421 or shard_retired: reload the table and route the batch again (nothing was appended). */
  async #reroute(
    lane: Lane,
    batch: ReadyDecision[],
    attempt: number,
    error: (shard: number) => SubmitError,
  ) {
    const before = this.#directory.version;
    try {
      await this.#directory.reload(lane.url);
    } catch {
      // Unreachable table sources: the items are routed by the table we have, and retried.
    }
    const now = clock();
    const expired = batch.filter((i) => i.deadline <= now);
    for (const item of expired) item.reject(error(lane.shard));
    const live = batch.filter((i) => i.deadline > now);
    if (live.length === 0) return;
    // Same table: the shard has not re-read its routing file yet (or ours is ahead); give it
    // time before routing the same way again.
    if (this.#directory.version === before) {
      await sleep(backoffDelay(this.#backoff, attempt, Math.random, 200));
    }
    for (const item of live) this.#route(item);
  }
}

/** Routing as the client has it: the table and its hash (what shards send in X-AgDR-Routing-Hash). */
export interface AgdrClientRouting {
  table: EpochTable;
  hash: string;
}

/** Offline verification of an evidence bundle, with pinned keys when `trust` is given. */
export function verify(
  bundle: unknown,
  trust?: TrustBundle | readonly TrustAnchor[],
): BundleReport {
  if (trust === undefined) return verifyBundle(bundle);
  const anchors: readonly TrustAnchor[] = isTrustBundle(trust) ? trust.keys : trust;
  return verifyBundle(bundle, { trust: [...anchors] });
}

function isTrustBundle(t: TrustBundle | readonly TrustAnchor[]): t is TrustBundle {
  return !Array.isArray(t);
}

function invalid(problems: readonly SubmitProblem[]): SubmitError {
  const first = problems[0];
  return new SubmitError(
    'invalid_decision',
    first === undefined ? 'invalid decision' : `${first.path}: ${first.message}`,
    { problems },
  );
}

function shardDirectory(shards: NonNullable<AgdrClientOptions['shards']>): ShardDirectory {
  if (typeof shards === 'string') return parseShardDirectory(shards);
  const list = shards.map((s, i) => (typeof s === 'string' ? { id: i, url: s } : s));
  return parseShardDirectory(list.map((s) => `${s.id}=${s.url}`).join(','));
}

/** The token option as the shared HTTP client takes it: checked, and asked for per request. */
function tokenSource(token: AgdrClientOptions['token']): TokenSource | undefined {
  if (token === undefined) return undefined;
  if (typeof token === 'string') {
    const fixed = checkToken(token, 'token');
    return () => Promise.resolve(fixed);
  }
  return async () => checkToken(await token(), 'token');
}

/**
 * Milliseconds on a monotonic clock, for retry deadlines: whole and small (since the process
 * started, not since 1970), so a decision's deadline is a small integer in its object, not a
 * separately allocated number, and always above 0 (0 is "not set").
 */
function clock(): number {
  return Math.ceil(performance.now());
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
