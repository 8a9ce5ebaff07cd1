// An @kubernetes/client-node informer against the real apiserver: it keeps delivering events for
// over 45 s (the harness ends watches every 20-40 s, so this spans re-watches) and
// recovers after kube-apiserver is restarted.
import { CoreV1Api, KubeConfig, makeInformer } from '@kubernetes/client-node';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';

import { clusterInfo, clusterKubectl, restartApiserver } from './harness/context.ts';
import { sleep } from './harness/process.ts';

const SOAK_MS = 45_000;
const CREATE_EVERY_MS = 5_000;
const EVENT_TIMEOUT_MS = 20_000;
const RECOVERY_TIMEOUT_MS = 90_000;

type Verb = 'add' | 'update' | 'delete';

/** Records informer events and lets the test wait for a particular one. */
class EventLog {
  private readonly seen = new Set<string>();
  private readonly waiters = new Map<string, () => void>();

  record(verb: Verb, obj: V1ConfigMap): void {
    const key = `${verb}:${obj.metadata?.name ?? ''}:${obj.data?.['n'] ?? ''}`;
    this.seen.add(key);
    this.waiters.get(key)?.();
  }

  async waitFor(verb: Verb, name: string, n: string, timeoutMs: number): Promise<void> {
    const key = `${verb}:${name}:${n}`;
    if (this.seen.has(key)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`no '${verb}' event for ${name} (n=${n}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(key, () => {
        clearTimeout(timer);
        this.waiters.delete(key);
        resolve();
      });
    });
  }
}

describe('client-node informer', () => {
  const kc = new KubeConfig();
  kc.loadFromFile(clusterInfo().kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  let stopInformer: (() => Promise<void>) | undefined;

  afterAll(async () => {
    await stopInformer?.();
  });

  it(
    'delivers events for over 45 s, across re-watches, and after an apiserver restart',
    { timeout: 420_000 },
    async () => {
      const ns = await clusterKubectl().createNamespace('informer');
      const informer = makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () =>
        core.listNamespacedConfigMap({ namespace: ns }),
      );
      const events = new EventLog();
      const errors: string[] = [];
      let stopped = false;
      informer.on('add', (o) => events.record('add', o));
      informer.on('update', (o) => events.record('update', o));
      informer.on('delete', (o) => events.record('delete', o));
      let connects = 0;
      informer.on('connect', () => (connects += 1));
      // The library's documented recovery: an informer stops on error and is started again
      // (retrying while the apiserver is still down).
      const restart = (): void => {
        if (stopped) return;
        informer.start().catch((e: unknown) => {
          errors.push(`restart: ${String(e)}`);
          setTimeout(restart, 2_000);
        });
      };
      informer.on('error', (err: unknown) => {
        errors.push(String(err));
        setTimeout(restart, 2_000);
      });
      stopInformer = async () => {
        stopped = true;
        await informer.stop();
      };
      await informer.start();

      const expectEvent = (verb: Verb, name: string, n: string, timeoutMs: number) =>
        events.waitFor(verb, name, n, timeoutMs).catch((err: unknown) => {
          const recent = errors.slice(-5).join(' | ') || 'none';
          throw new Error(`${(err as Error).message}; informer errors so far: ${recent}`);
        });
      const create = async (name: string, n: string): Promise<void> => {
        await core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name }, data: { n } },
        });
      };

      const started = Date.now();
      let i = 0;
      while (Date.now() - started < SOAK_MS) {
        const name = `soak-${i}`;
        await create(name, String(i));
        await expectEvent('add', name, String(i), EVENT_TIMEOUT_MS);
        i += 1;
        await sleep(CREATE_EVERY_MS);
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(SOAK_MS);
      // The namespace also holds kube-root-ca.crt, published by the controller-manager.
      // The apiserver ends each watch within 40 s (--min-request-timeout=20), so the soak
      // must have spanned at least one re-watch.
      expect(connects).toBeGreaterThanOrEqual(2);
      const soaked = informer.list().filter((cm) => cm.metadata?.name?.startsWith('soak-'));
      expect(soaked.length).toBe(i);

      await restartApiserver();
      // After the restart the informer must re-establish its watch by itself (via the error path).
      await create('after-restart', 'r');
      await expectEvent('add', 'after-restart', 'r', RECOVERY_TIMEOUT_MS);
      await core.replaceNamespacedConfigMap({
        name: 'after-restart',
        namespace: ns,
        body: { metadata: { name: 'after-restart' }, data: { n: 'r2' } },
      });
      await expectEvent('update', 'after-restart', 'r2', EVENT_TIMEOUT_MS);
      await core.deleteNamespacedConfigMap({ name: 'soak-0', namespace: ns });
      await expectEvent('delete', 'soak-0', '0', EVENT_TIMEOUT_MS);
      expect(informer.get('after-restart', ns)?.data).toEqual({ n: 'r2' });
      expect(informer.get('soak-0', ns)).toBeUndefined();
    },
  );
});
