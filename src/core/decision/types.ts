// The AgDR v0.2 record as upstream publishes it (specs/agdr-v0.2.json `agdr_record_schema`, and
// what the Python SDK's `aki_capture(...).to_dict()` emits); docs/spec/30-decisions-and-envelopes.md.
import type { JsonObject, JsonValue } from '../jcs.ts';

export const SPEC_VERSION = '0.2';

/** An integer as read from JSON: a number inside the safe range, a bigint outside it. */
export type JsonInteger = number | bigint;

/** Members a record must have (upstream also requires the integrity members; see SPEC). */
export const REQUIRED_MEMBERS = [
  'ctx',
  'human_delta_chain',
  'output',
  'ppp_triplet',
  'reasoning_trace',
  'record_id',
  'spec_version',
  'timestamp_ns',
] as const;

/** The three PPP members, all required; further members are allowed (upstream's schema). */
export const PPP_MEMBERS = ['place', 'provenance', 'purpose'] as const;

/** Delta action codes (upstream human-delta-chain-spec.md). */
export const ACTION_HALTED = -1;
export const ACTION_ESCALATED = 0;
export const ACTION_APPROVED_AS_IS = 1;
export const ACTION_APPROVED_WITH_MODIFICATION = 2;
export type DeltaAction = -1 | 0 | 1 | 2;
export const ACTION_LABELS = [
  'halted',
  'escalated',
  'approved_as_is',
  'approved_with_modification',
] as const;
export const TERMINAL_NODES = ['human_delta', 'foi', 'autonomous'] as const;

export interface PppTriplet {
  provenance: string;
  place: string;
  purpose: string;
  /** Organizations may extend the triplet (upstream: additionalProperties true). */
  [member: string]: JsonValue;
}

/** One human intervention. Members beyond these are kept as given. */
export interface HumanDelta {
  delta_id: string;
  sequence: JsonInteger;
  actor: { name: string; role: string; [member: string]: JsonValue };
  action: DeltaAction;
  action_label?: (typeof ACTION_LABELS)[number];
  modification?: JsonValue;
  escalation_reason?: string;
  latency_ns?: JsonInteger;
  escalated?: boolean;
  timestamp_ns: JsonInteger;
  signature?: string;
  [member: string]: unknown;
}

/** The Fiduciary Office Intervener's terminal review. */
export interface FoiEscalation {
  actor: { name: string; title: string; [member: string]: JsonValue };
  decision: string;
  /** 1 approved, 0 halted. */
  decision_code: 0 | 1;
  rationale?: string;
  timestamp_ns: JsonInteger;
  /** Required by upstream's schema; the SDK does not write it, so it is optional here. */
  signature?: string;
  [member: string]: unknown;
}

export interface HumanDeltaChain {
  chain_id: string;
  agent_decision_ref: string;
  initiated_at_ns?: JsonInteger;
  resolved?: boolean;
  terminal_node?: (typeof TERMINAL_NODES)[number];
  /** Empty: the decision was autonomous. */
  deltas: HumanDelta[];
  foi_escalation?: FoiEscalation | null;
  autonomous?: boolean;
  autonomous_authority_ref?: string;
  merkle_root?: string;
  chain_signature?: string;
  [member: string]: unknown;
}

export interface Decision {
  record_id: string;
  spec_version: typeof SPEC_VERSION;
  ctx: JsonObject;
  model_id?: string | null;
  reasoning_trace: JsonValue;
  output: JsonValue;
  ppp_triplet: PppTriplet;
  human_delta_chain: HumanDeltaChain;
  /** The producer's own integrity members: stored as given, not checked (see SPEC). */
  merkle_hash?: string;
  merkle_position?: JsonInteger;
  prev_merkle_hash?: string | null;
  signature?: string;
  committed?: true;
  /** Inference instant, nanoseconds since the Unix epoch (an unsigned 64-bit integer). */
  timestamp_ns: JsonInteger;
  /** Further members (routing keys such as entity_id, extensions) are kept as given. */
  [member: string]: unknown;
}

/** A validated decision with its final canonical bytes, ready for the log writer. */
export interface PreparedDecision {
  decision: Decision;
  /**
   * Canonical JSON of `decision` (jcs.ts), UTF-8. May be a view into a larger (pooled)
   * ArrayBuffer or of the parsed input itself: copy it, never transfer `canonical.buffer`.
   */
  canonical: Uint8Array;
  recordId: string;
  /** timestamp_ns in canonical decimal. */
  timestampNs: string;
}
