// Events (events.k8s.io/v1) about an AgDRCluster, for `kubectl describe` and `kubectl events`.
import type { Logger } from 'pino';
import type { Kube } from './kube.ts';
import { AGDR_API_VERSION, AGDR_KIND } from './types.ts';
import type { AgDRCluster } from './types.ts';
import type { PlannedEvent } from './plan/status.ts';

/** events.k8s.io eventTime: RFC 3339 with microseconds. */
export function microTime(t: Date): string {
  return t.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Records each planned Event. An Event that cannot be written is logged and dropped: Events are
 * advice for admins, and status already holds the state they describe.
 */
export async function recordEvents(
  kube: Kube,
  cluster: AgDRCluster,
  events: readonly PlannedEvent[],
  instance: string,
  now: Date,
  log: Logger,
): Promise<void> {
  const namespace = cluster.metadata.namespace ?? 'default';
  for (const e of events) {
    try {
      await kube.createEvent({
        namespace,
        regarding: {
          apiVersion: AGDR_API_VERSION,
          kind: AGDR_KIND,
          name: cluster.metadata.name,
          namespace,
          ...(cluster.metadata.uid !== undefined ? { uid: cluster.metadata.uid } : {}),
        },
        type: e.type,
        reason: e.reason,
        action: 'Reconcile',
        note: e.note,
        reportingInstance: instance,
        eventTime: microTime(now),
      });
      log.info({ reason: e.reason, type: e.type, note: e.note }, 'event');
    } catch (err) {
      log.warn({ reason: e.reason, err: (err as Error).message }, 'event not recorded');
    }
  }
}
