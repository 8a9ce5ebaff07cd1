// The controller loop: informers on AgDRClusters and on what the operator owns, a work queue
// of cluster keys, per-key requeue timers, a periodic full resync, and a clean shutdown.
// client-node stops an informer when its list or watch fails; each one here is started again
// with backoff, so the operator survives an apiserver restart.
import { makeInformer } from '@kubernetes/client-node';
import type {
  Informer,
  KubeConfig,
  KubernetesObject,
  ObjectCache as NodeCache,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Kube } from './kube.ts';
import { KubeError } from './kube.ts';
import { LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY } from './names.ts';
import type { OperatorMetrics } from './metrics.ts';
import type { CachedKind, ObjectCache } from './observe.ts';
import { reconcile } from './reconcile.ts';
import type { ReconcileContext } from './reconcile.ts';
import { AGDR_API_VERSION, AGDR_GROUP, AGDR_KIND, AGDR_PLURAL, AGDR_VERSION } from './types.ts';
import type { AgDRClusterStored } from './types.ts';
import { WorkQueue } from './work-queue.ts';

interface WatchedKind {
  readonly kind: CachedKind | 'AgDRCluster';
  readonly apiVersion: string;
  /** Path prefix: `/api/v1` or `/apis/GROUP/VERSION`. */
  readonly base: string;
  readonly plural: string;
}

const OWNED: readonly WatchedKind[] = [
  { kind: 'Pod', apiVersion: 'v1', base: '/api/v1', plural: 'pods' },
  { kind: 'ConfigMap', apiVersion: 'v1', base: '/api/v1', plural: 'configmaps' },
  { kind: 'Secret', apiVersion: 'v1', base: '/api/v1', plural: 'secrets' },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', base: '/apis/apps/v1', plural: 'statefulsets' },
  { kind: 'Deployment', apiVersion: 'apps/v1', base: '/apis/apps/v1', plural: 'deployments' },
];

const CLUSTERS: WatchedKind = {
  kind: AGDR_KIND,
  apiVersion: AGDR_API_VERSION,
  base: `/apis/${AGDR_GROUP}/${AGDR_VERSION}`,
  plural: AGDR_PLURAL,
};

export const OWNED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;

export interface ControllerOptions {
  /** Namespaces to watch; empty for every namespace. */
  readonly namespaces: readonly string[];
  /** Every cluster is reconciled at least this often. */
  readonly resyncMs: number;
  /** First delay before restarting a stopped informer (doubles up to 30 s). */
  readonly informerRetryMs: number;
}

interface RunningInformer {
  readonly kind: WatchedKind;
  readonly namespace: string | undefined;
  readonly informer: Informer<KubernetesObject> & NodeCache<KubernetesObject>;
  synced: boolean;
  retryMs: number;
  retryTimer?: NodeJS.Timeout;
}

const keyOf = (ns: string, name: string): string => `${ns}/${name}`;

export class Controller {
  readonly #kc: KubeConfig;
  readonly #kube: Kube;
  readonly #ctx: Omit<ReconcileContext, 'cache'>;
  readonly #options: ControllerOptions;
  readonly #metrics: OperatorMetrics;
  readonly #log: Logger;
  readonly #queue = new WorkQueue();
  readonly #informers: RunningInformer[] = [];
  #resyncTimer: NodeJS.Timeout | undefined;
  /** Last generation seen per cluster key. */
  readonly #generations = new Map<string, number>();
  #worker: Promise<void> | undefined;
  #stopping = false;

  constructor(
    kc: KubeConfig,
    ctx: Omit<ReconcileContext, 'cache'>,
    options: ControllerOptions,
    metrics: OperatorMetrics,
  ) {
    this.#kc = kc;
    this.#kube = ctx.kube;
    this.#ctx = ctx;
    this.#options = options;
    this.#metrics = metrics;
    this.#log = ctx.log.child({ component: 'controller' });
  }

  /** True once every informer has listed at least once. */
  get synced(): boolean {
    return this.#informers.length > 0 && this.#informers.every((i) => i.synced);
  }

  /** The cache view reconciles read. */
  readonly cache: ObjectCache = {
    get: <T>(kind: CachedKind, namespace: string, name: string): T | undefined => {
      for (const i of this.#informers) {
        if (i.kind.kind !== kind) continue;
        if (i.namespace !== undefined && i.namespace !== namespace) continue;
        const found = i.informer.get(name, namespace);
        if (found !== undefined) return found as T;
      }
      return undefined;
    },
    list: <T>(kind: CachedKind, namespace: string): T[] => {
      const out: T[] = [];
      for (const i of this.#informers) {
        if (i.kind.kind !== kind) continue;
        if (i.namespace !== undefined && i.namespace !== namespace) continue;
        out.push(...(i.informer.list(namespace) as T[]));
      }
      return out;
    },
  };

  async start(): Promise<void> {
    const namespaces: (string | undefined)[] =
      this.#options.namespaces.length > 0 ? [...this.#options.namespaces] : [undefined];
    for (const ns of namespaces) {
      this.#watch(CLUSTERS, ns, undefined);
      for (const kind of OWNED) this.#watch(kind, ns, OWNED_SELECTOR);
    }
    await Promise.all(this.#informers.map((i) => this.#start(i)));
    this.#resyncTimer = setInterval(() => this.#resync(), this.#options.resyncMs);
    this.#resyncTimer.unref();
    this.#worker = this.#work();
  }

  #watch(kind: WatchedKind, namespace: string | undefined, selector: string | undefined): void {
    const path =
      namespace === undefined
        ? `${kind.base}/${kind.plural}`
        : `${kind.base}/namespaces/${namespace}/${kind.plural}`;
    const informer = makeInformer<KubernetesObject>(
      this.#kc,
      path,
      () => this.#kube.list(kind.apiVersion, kind.kind, namespace, selector),
      selector,
    );
    const entry: RunningInformer = {
      kind,
      namespace,
      informer,
      synced: false,
      retryMs: this.#options.informerRetryMs,
    };
    const onObject = (obj: KubernetesObject): void => this.#onEvent(kind, obj);
    informer.on('add', onObject);
    informer.on('update', onObject);
    informer.on('delete', (obj: KubernetesObject) => {
      if (kind.kind === 'AgDRCluster')
        this.#generations.delete(keyOf(obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
      else onObject(obj);
    });
    informer.on('connect', () => {
      entry.retryMs = this.#options.informerRetryMs;
    });
    informer.on('error', (err: unknown) => {
      if (this.#stopping) return;
      this.#log.warn(
        { kind: kind.kind, namespace, err: err instanceof Error ? err.message : String(err) },
        'informer stopped; restarting',
      );
      this.#metrics.informerRestarts.inc({ kind: kind.kind });
      this.#scheduleRestart(entry);
    });
    this.#informers.push(entry);
  }

  async #start(entry: RunningInformer): Promise<void> {
    try {
      await entry.informer.start();
      // start() resolves after the first list (or after reporting its failure as an error).
      if (!entry.retryTimer) entry.synced = true;
    } catch (err) {
      this.#log.warn(
        { kind: entry.kind.kind, err: err instanceof Error ? err.message : String(err) },
        'informer did not start; retrying',
      );
      this.#scheduleRestart(entry);
    }
  }

  #scheduleRestart(entry: RunningInformer): void {
    if (this.#stopping || entry.retryTimer !== undefined) return;
    const delay = entry.retryMs;
    entry.retryMs = Math.min(entry.retryMs * 2, 30_000);
    entry.retryTimer = setTimeout(() => {
      delete entry.retryTimer;
      if (this.#stopping) return;
      void this.#start(entry).then(() => {
        // A relist may have missed changes: look at every cluster again.
        if (entry.synced) this.#resync();
      });
    }, delay);
  }

  #onEvent(kind: WatchedKind, obj: KubernetesObject): void {
    const ns = obj.metadata?.namespace;
    if (ns === undefined) return;
    if (kind.kind === 'AgDRCluster') {
      // Our own status writes change only status: a reconcile is due only for a new generation
      // (the periodic requeue looks at the processes anyway).
      const key = keyOf(ns, obj.metadata?.name ?? '');
      const generation = obj.metadata?.generation ?? 0;
      if (this.#generations.get(key) === generation) return;
      this.#generations.set(key, generation);
      this.#enqueue(key);
      return;
    }
    const owner = obj.metadata?.labels?.[LABEL_INSTANCE];
    if (owner !== undefined) this.#enqueue(keyOf(ns, owner));
  }

  #enqueue(key: string): void {
    this.#queue.add(key);
    this.#metrics.queueDepth.set(this.#queue.depth);
  }

  #resync(): void {
    for (const i of this.#informers) {
      if (i.kind.kind !== 'AgDRCluster') continue;
      for (const c of i.informer.list()) {
        const ns = c.metadata?.namespace;
        if (ns !== undefined) this.#enqueue(keyOf(ns, c.metadata?.name ?? ''));
      }
    }
  }

  #clusterOf(key: string): AgDRClusterStored | undefined {
    const [ns, name] = key.split('/') as [string, string];
    for (const i of this.#informers) {
      if (i.kind.kind !== 'AgDRCluster') continue;
      const c = i.informer.get(name, ns);
      if (c !== undefined) return c as unknown as AgDRClusterStored;
    }
    return undefined;
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.#queue.get();
      this.#metrics.queueDepth.set(this.#queue.depth);
      if (key === undefined) return;
      try {
        await this.#process(key);
      } finally {
        this.#queue.done(key);
      }
    }
  }

  async #process(key: string): Promise<void> {
    const cluster = this.#clusterOf(key);
    // Deleted: garbage collection removes what it owned; nothing to do.
    if (cluster === undefined || cluster.metadata.deletionTimestamp !== undefined) {
      this.#ctx.written.delete(key);
      return;
    }
    const end = this.#metrics.duration.startTimer();
    try {
      const result = await reconcile(cluster, { ...this.#ctx, cache: this.cache });
      this.#metrics.reconciles.inc({ result: 'success' });
      this.#queue.forget(key);
      this.#queue.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.#metrics.reconciles.inc({ result: 'error' });
      this.#metrics.errors.inc({ code: typeof code === 'string' ? code : 'internal' });
      const delay = this.#queue.addRateLimited(key);
      const log = err instanceof KubeError && err.code === 'unavailable' ? 'warn' : 'error';
      this.#log[log](
        {
          cluster: key,
          code,
          err: err instanceof Error ? err.message : String(err),
          retryInMs: delay,
        },
        'reconcile failed',
      );
    } finally {
      end();
    }
  }

  /** Stops the informers and the worker; a reconcile in flight finishes first. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#resyncTimer !== undefined) clearInterval(this.#resyncTimer);
    for (const i of this.#informers) if (i.retryTimer !== undefined) clearTimeout(i.retryTimer);
    this.#queue.shutDown();
    await Promise.all(this.#informers.map((i) => i.informer.stop()));
    await this.#worker;
  }
}
