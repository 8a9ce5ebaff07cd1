// A decision as the client holds it from submit until it settles: where its bytes lie, what
// routing reads, and its flight state (shard, retry deadline, slab, who is told of its outcome).
// One object per decision, the decision itself: a stream keeps some 30,000 decisions in flight
// for about half a second each, long enough for the garbage collector to copy every object they
// hold twice and promote it to the old generation, where it dies; so the fewer and smaller the
// objects a decision in flight holds, the less collecting per decision (docs/PERFORMANCE.md).
import type { RoutingSource } from '../core/routing.ts';
import type { SubmitError } from './errors.ts';
import type { Slab } from './slabs.ts';
import type { Receipt } from './types.ts';

/** Told once of a decision's outcome: its receipt, or the error that settles it. */
export type Owner = (
  d: ReadyDecision,
  receipt: Receipt | undefined,
  error: SubmitError | undefined,
) => void;

export abstract class ReadyDecision {
  /**
   * Where the bytes sent lie: buf[at, at + size). The canonical form, or the caller's own text
   * when only its routing fields were read (the shard validates and canonicalizes it).
   */
  abstract readonly buf: Uint8Array;
  abstract readonly at: number;
  abstract readonly size: number;
  abstract readonly recordId: string;
  abstract readonly source: RoutingSource;
  /** Its bytes lie at buf[at, at + size) from now on (a copy of them: a slab's). */
  abstract moveTo(buf: Buffer, at: number): void;
  /**
   * Just past its record_id if b[at..] spells it as the characters of a JSON string (a
   * receipt's), else -1.
   */
  abstract matchRecordId(b: Uint8Array, at: number): number;

  /** The shard it is routed to (-1 until it is). */
  shard = -1;
  /**
   * When the client stops retrying it, on the client's monotonic millisecond clock (set when it
   * is first sent, or first parked); 0 until then.
   */
  deadline = 0;
  /** Tries so far to find its shard's URL (for the backoff between them). */
  attempts = 0;
  /** Where its bytes lie while a lane holds it (slabs.ts); released when it settles. */
  slab: Slab | undefined = undefined;
  /** The submitter's tag (submitMany's index). */
  tag = 0;
  #owner: Owner | undefined = undefined;

  /** Hands it to `owner`, which is told of its outcome once. */
  submitted(tag: number, owner: Owner): void {
    this.tag = tag;
    this.#owner = owner;
  }

  /**
   * Takes over `other`'s flight (its decision, read anew by the full path, goes on as this one).
   */
  adopt(other: ReadyDecision): void {
    this.shard = other.shard;
    this.deadline = other.deadline;
    this.attempts = other.attempts;
    this.slab = other.slab;
    this.tag = other.tag;
    this.#owner = other.#owner;
  }

  resolve(receipt: Receipt): void {
    this.#owner?.(this, receipt, undefined);
  }

  reject(error: SubmitError): void {
    this.#owner?.(this, undefined, error);
  }
}
