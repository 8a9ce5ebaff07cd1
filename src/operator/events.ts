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

/** The apiserver refuses an Event whose note is longer than this many bytes. */
export const NOTE_MAX_BYTES = 1024;

/** `text` cut to fit an Event note (UTF-8 bytes), ending in `…` when cut. */
export function eventNote(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= NOTE_MAX_BYTES) return text;
  const chars = [...text];
  let out = '';
  let bytes = Buffer.byteLength('…', 'utf8');
  for (const c of chars) {
    const n = Buffer.byteLength(c, 'utf8');
    if (bytes + n > NOTE_MAX_BYTES) break;
    out += c;
    bytes += n;
  }
  return `${out}…`;
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
        note: eventNote(e.note),
        reportingInstance: instance,
        eventTime: microTime(now),
      });
      log.info({ reason: e.reason, type: e.type, note: e.note }, 'event');
    } catch (err) {
      log.warn({ reason: e.reason, err: (err as Error).message }, 'event not recorded');
    }
  }
}
