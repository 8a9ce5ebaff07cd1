// The AgDR v0.2 decision record as this product accepts it (docs/spec/30-decisions-and-envelopes.md).
import type { JsonObject, JsonValue } from '../jcs.ts';

export const SPEC_VERSION = '0.2';

// Member names in RFC 8785 order (UTF-16 code units; all ASCII, so also byte order), which is
// the order canonical decisions list them in.

/** The members of a decision (`ext` is the one optional member). */
export const DECISION_MEMBERS = [
  'ctx',
  'domain',
  'entity_id',
  'ext',
  'human_delta_chain',
  'model_id',
  'output',
  'ppp_triplet',
  'reasoning_trace',
  'record_id',
  'session_id',
  'spec_version',
  'timestamp_ns',
] as const;

/** The members of `ppp_triplet`, all required. */
export const PPP_MEMBERS = ['place', 'provenance', 'purpose'] as const;

/** The members a human_delta_chain node may have. */
export const DELTA_NODE_MEMBERS = [
  'actor',
  'authority_ref',
  'ext',
  'kind',
  'modification',
  'note',
  'outcome',
  'sequence',
  'signature',
  'timestamp_ns',
] as const;

/** Who (or what authority) produced a chain node. */
export interface DeltaActor {
  name: string;
  role: string;
  /** Further identity members (employee_id, jurisdiction, ...) are kept as given. */
  [member: string]: JsonValue;
}

/**
 * - `delta`: a human reviewed and approved (with `modification` when they changed the decision);
 * - `escalation`: a human passed the decision to the next layer; it is not final;
 * - `halt`: a human stopped the decision; the agent must not proceed (terminal);
 * - `foi`: the Fiduciary Office Intervenor's terminal review (`outcome`);
 * - `autonomous`: no human reviewed; the agent acted under the standing authority `authority_ref`.
 */
export type DeltaKind = 'delta' | 'escalation' | 'halt' | 'foi' | 'autonomous';
export const DELTA_KINDS: readonly DeltaKind[] = [
  'delta',
  'escalation',
  'halt',
  'foi',
  'autonomous',
];

export type FoiOutcome = 'affirmed' | 'modified' | 'halted';
export const FOI_OUTCOMES: readonly FoiOutcome[] = ['affirmed', 'modified', 'halted'];

export interface HumanDeltaNode {
  sequence: number;
  kind: DeltaKind;
  timestamp_ns: string;
  actor?: DeltaActor;
  authority_ref?: string;
  outcome?: FoiOutcome;
  modification?: JsonObject;
  note?: string;
  signature?: string;
  ext?: JsonObject;
}

export interface PppTriplet {
  provenance: string;
  place: string;
  purpose: string;
}

export interface Decision {
  record_id: string;
  spec_version: typeof SPEC_VERSION;
  ctx: JsonObject;
  model_id: string;
  reasoning_trace: string | JsonValue[];
  output: JsonValue;
  ppp_triplet: PppTriplet;
  human_delta_chain: HumanDeltaNode[];
  /** Decision (inference) time, nanoseconds since the Unix epoch, canonical decimal string. */
  timestamp_ns: string;
  entity_id: string;
  session_id: string;
  domain: string;
  ext?: JsonObject;
}

/** A validated decision with its final canonical bytes, ready for the log writer. */
export interface PreparedDecision {
  decision: Decision;
  /**
   * RFC 8785 canonical JSON of `decision`, UTF-8. May be a view into a larger (pooled)
   * ArrayBuffer or of the parsed input itself: copy it, never transfer `canonical.buffer`.
   */
  canonical: Uint8Array;
  recordId: string;
  timestampNs: bigint;
  entityId: string;
  sessionId: string;
  domain: string;
}
