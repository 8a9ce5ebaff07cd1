// metav1.Condition bookkeeping (Kubernetes API conventions): a condition's lastTransitionTime
// moves only when its status changes; reason and message may change at any time.
import type { AgDRCondition } from '../types.ts';

export type ConditionType =
  'Ready' | 'Progressing' | 'Degraded' | 'KeysReady' | 'KeyRotated' | 'VaultUnavailable';
export const CONDITION_TYPES: readonly ConditionType[] = [
  'Ready',
  'Progressing',
  'Degraded',
  'KeysReady',
  'KeyRotated',
  'VaultUnavailable',
];

export interface ConditionValue {
  readonly status: AgDRCondition['status'];
  readonly reason: string;
  readonly message: string;
}

export function findCondition(
  conditions: readonly AgDRCondition[] | undefined,
  type: ConditionType,
): AgDRCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(
  conditions: readonly AgDRCondition[] | undefined,
  type: ConditionType,
): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

/** The condition to store: the previous transition time unless the status changed. */
export function nextCondition(
  previous: AgDRCondition | undefined,
  type: ConditionType,
  value: ConditionValue,
  generation: number,
  now: Date,
): AgDRCondition {
  const lastTransitionTime =
    previous !== undefined && previous.status === value.status
      ? previous.lastTransitionTime
      : rfc3339(now);
  return {
    type,
    status: value.status,
    observedGeneration: generation,
    lastTransitionTime,
    reason: value.reason,
    message: value.message,
  };
}

/** RFC 3339 at second precision, as metav1.Time serializes. */
export function rfc3339(t: Date): string {
  return t.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
