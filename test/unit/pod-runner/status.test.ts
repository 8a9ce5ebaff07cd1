// The pod status the runner writes, and when it writes it.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

import { podStatus, statusDiffers } from '../../cluster/harness/pod-runner/status.ts';

const t0 = new Date('2026-12-06T10:00:00.000Z');
const t1 = new Date('2026-12-06T10:00:05.250Z');

function container(ready: boolean, extra: Partial<V1ContainerStatus> = {}): V1ContainerStatus {
  return {
    name: 'shard',
    image: 'agdr.dev/agdr:test',
    imageID: '',
    ready,
    restartCount: 0,
    state: { running: { startedAt: t0 } },
    lastState: {},
    ...extra,
  };
}

const pod: V1Pod = {
  metadata: { name: 'p' },
  status: {
    podIP: '10.244.0.3',
    conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: t0 }],
  },
};

describe('podStatus', () => {
  it('is Running and not Ready until every container is ready; keeps PodScheduled', () => {
    const s = podStatus(pod, [container(false)], undefined, t1);
    expect(s.phase).toBe('Running');
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['PodScheduled', 'True', undefined],
      ['Initialized', 'True', undefined],
      ['ContainersReady', 'False', 'ContainersNotReady'],
      ['Ready', 'False', 'ContainersNotReady'],
    ]);
    expect(s.startTime).toEqual(t1);
    const readyNow = podStatus(
      { ...pod, status: { ...pod.status, ...s } },
      [container(true)],
      undefined,
      t1,
    );
    expect(readyNow.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      lastTransitionTime: t1,
    });
  });

  it('keeps lastTransitionTime while a condition does not change', () => {
    const first = podStatus(pod, [container(true)], undefined, t0);
    const later = podStatus({ ...pod, status: first }, [container(true)], undefined, t1);
    expect(later.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toEqual(t0);
    expect(statusDiffers(first, later)).toBe(false);
  });

  it('is Pending before any container started, and shows why it cannot start', () => {
    const waiting = container(false, { state: { waiting: { reason: 'ContainerCreating' } } });
    const s = podStatus(
      pod,
      [waiting],
      { reason: 'CreateContainerConfigError', message: 'spec.x: bad' },
      t1,
    );
    expect(s.phase).toBe('Pending');
    expect(s.containerStatuses?.[0]?.state).toEqual({
      waiting: { reason: 'CreateContainerConfigError', message: 'spec.x: bad' },
    });
  });

  it('is Succeeded or Failed once every container terminated for good', () => {
    const done = (exitCode: number) =>
      container(false, { state: { terminated: { exitCode, startedAt: t0, finishedAt: t1 } } });
    expect(podStatus(pod, [done(0)], undefined, t1).phase).toBe('Succeeded');
    expect(podStatus(pod, [done(1)], undefined, t1).phase).toBe('Failed');
  });
});

describe('statusDiffers', () => {
  it('ignores sub-second times and key order the apiserver drops or changes', () => {
    const mine = podStatus(pod, [container(true)], undefined, t1);
    // What the apiserver hands back: times to the second, as strings, keys in another order.
    const stored = JSON.parse(
      JSON.stringify(mine, (_k, v: unknown) =>
        typeof v === 'string' && v.endsWith('Z') ? v.replace(/\.\d+Z$/, 'Z') : v,
      ),
    ) as typeof mine;
    const c = stored.containerStatuses?.[0] as V1ContainerStatus;
    stored.containerStatuses = [
      {
        state: c.state,
        restartCount: c.restartCount,
        ready: c.ready,
        name: c.name,
        image: c.image,
        imageID: '',
        lastState: {},
      },
    ];
    expect(statusDiffers(stored, mine)).toBe(false);
  });

  it('sees a change in readiness, restarts or state', () => {
    const a = podStatus(pod, [container(true)], undefined, t1);
    expect(statusDiffers(a, podStatus(pod, [container(false)], undefined, t1))).toBe(true);
    expect(
      statusDiffers(a, podStatus(pod, [container(true, { restartCount: 1 })], undefined, t1)),
    ).toBe(true);
    expect(
      statusDiffers(
        a,
        podStatus(pod, [container(true, { state: { running: { startedAt: t1 } } })], undefined, t1),
      ),
    ).toBe(true);
  });
});
