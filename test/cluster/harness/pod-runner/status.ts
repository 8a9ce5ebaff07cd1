// The status the runner writes for a pod it runs, as kubelet computes it: phase, the
// Initialized / ContainersReady / Ready conditions (lastTransitionTime kept while a status does
// not change), containerStatuses, podIP(s) and hostIP(s) as KWOK assigned them.
import type {
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from '@kubernetes/client-node';

/** The status fields the runner owns; written as a JSON merge patch of the status. */
export function podStatus(
  pod: V1Pod,
  containers: readonly V1ContainerStatus[],
  problem: { reason: string; message: string } | undefined,
  now: Date,
): V1PodStatus {
  const observed = pod.status ?? {};
  const allReady = containers.length > 0 && containers.every((c) => c.ready);
  const anyRunning = containers.some((c) => c.state?.running);
  const allDone = containers.length > 0 && containers.every((c) => c.state?.terminated);
  const phase = allDone
    ? containers.every((c) => c.state?.terminated?.exitCode === 0)
      ? 'Succeeded'
      : 'Failed'
    : anyRunning || containers.some((c) => c.restartCount > 0)
      ? 'Running'
      : 'Pending';
  const condition = (type: string, ok: boolean, reason?: string): V1PodCondition => {
    const status = ok ? 'True' : 'False';
    const before = observed.conditions?.find((c) => c.type === type);
    return {
      type,
      status,
      ...(ok || reason === undefined ? {} : { reason }),
      lastTransitionTime:
        before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  };
  const notReadyReason = allDone ? 'PodCompleted' : 'ContainersNotReady';
  const conditions: V1PodCondition[] = [
    ...(observed.conditions ?? []).filter(
      (c) => !['Initialized', 'ContainersReady', 'Ready'].includes(c.type),
    ),
    condition('Initialized', true),
    condition('ContainersReady', allReady, notReadyReason),
    condition('Ready', allReady, notReadyReason),
  ];
  return {
    phase,
    conditions,
    containerStatuses: containers.map((c) =>
      problem && c.state?.waiting
        ? { ...c, state: { waiting: { reason: problem.reason, message: problem.message } } }
        : c,
    ),
    startTime: observed.startTime ?? now,
    ...(problem ? { message: problem.message, reason: problem.reason } : {}),
  };
}

/** Whether writing `next` would change what the apiserver holds (times compared as strings). */
export function statusDiffers(observed: V1PodStatus | undefined, next: V1PodStatus): boolean {
  const pick = (s: V1PodStatus | undefined): string =>
    JSON.stringify({
      phase: s?.phase,
      conditions: s?.conditions?.map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        lastTransitionTime: toSeconds(new Date(c.lastTransitionTime ?? 0)),
      })),
      containerStatuses: s?.containerStatuses?.map((c) => ({
        name: c.name,
        ready: c.ready,
        started: c.started,
        restartCount: c.restartCount,
        containerID: c.containerID,
        state: normalizeState(c.state),
        lastState: normalizeState(c.lastState),
      })),
      message: s?.message,
      reason: s?.reason,
    });
  return pick(observed) !== pick(next);
}

/** The apiserver keeps times to the second (metav1.Time). */
function toSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** A container state with sorted keys and times to the second, for comparison. */
function normalizeState(state: V1ContainerStatus['state']): string {
  const canonical = (v: unknown): unknown => {
    if (v instanceof Date) return toSeconds(v);
    if (typeof v === 'string' && /^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(v))
      return toSeconds(new Date(v));
    if (v === null || typeof v !== 'object') return v;
    const obj = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort()
        .map((k) => [k, canonical(obj[k])]),
    );
  };
  return JSON.stringify(canonical(state ?? {}));
}
