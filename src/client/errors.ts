// Typed errors of the client library: every refusal a caller can act on, with its code.
import { CodedError } from '../core/errors.ts';

/** One problem of a decision: where (JSON path), what (code) and why. */
export interface SubmitProblem {
  path: string;
  code: string;
  message: string;
}

export type SubmitErrorCode =
  /** The decision is not a valid AgDR v0.2 record (or cannot be routed): `problems` say where. */
  | 'invalid_decision'
  /** Its record_id is taken by a different decision on its shard (never retried). */
  | 'record_id_conflict'
  /** Its shard was retired by the routing epoch in force; re-submit with a current timestamp. */
  | 'shard_retired'
  /** The shards kept answering 421 after the routing table was reloaded. */
  | 'misrouted'
  /** No URL is known for the shard the decision routes to. */
  | 'unknown_shard'
  /** The shard answered with another refusal (4xx/5xx that is not worth retrying). */
  | 'rejected'
  /** The shard stayed unreachable or overloaded until the retry budget ran out. */
  | 'unavailable'
  /** The client was closed before the decision was acknowledged. */
  | 'closed';

/** Why one decision was not acknowledged. */
export class SubmitError extends CodedError<SubmitErrorCode> {
  override name = 'SubmitError';
  /** Validation problems (code invalid_decision), each with its field path. */
  readonly problems: readonly SubmitProblem[];
  /** The shard the decision was routed to, when it got that far. */
  readonly shard: number | undefined;
  /** The HTTP status of the shard's last answer, if there was one. */
  readonly status: number | undefined;
  constructor(
    code: SubmitErrorCode,
    message: string,
    details: {
      path?: string;
      problems?: readonly SubmitProblem[];
      shard?: number;
      status?: number;
    } = {},
  ) {
    super(code, message, details.path ?? details.problems?.[0]?.path);
    this.problems = details.problems ?? [];
    this.shard = details.shard;
    this.status = details.status;
  }
}
