// Size limits applied on ingest. Every limit bounds work or storage a client can cause.

export interface DecisionLimits {
  /** Canonical decision, UTF-8 bytes. */
  maxRecordBytes: number;
  /** One NDJSON line or request body before parsing, bytes. */
  maxInputBytes: number;
  /** record_id: UTF-16 code units (it keys the record index and appears in URLs). */
  maxIdLength: number;
  /** human_delta_chain.deltas entries. */
  maxChainLength: number;
  /** Nesting of objects and arrays, counting the decision object itself as 1. */
  maxDepth: number;
}

export const DEFAULT_DECISION_LIMITS: Readonly<DecisionLimits> = Object.freeze({
  maxRecordBytes: 1 << 20,
  maxInputBytes: 4 << 20,
  maxIdLength: 256,
  maxChainLength: 64,
  maxDepth: 32,
});

/** `DEFAULT_DECISION_LIMITS` with `overrides` applied. */
export function decisionLimits(overrides?: Partial<DecisionLimits>): DecisionLimits {
  return overrides === undefined
    ? DEFAULT_DECISION_LIMITS
    : { ...DEFAULT_DECISION_LIMITS, ...overrides };
}
