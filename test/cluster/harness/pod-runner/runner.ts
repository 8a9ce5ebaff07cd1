// The pod runner: kubelet for the pods of the cluster tier that run the agdr image on KWOK
// nodes. It watches Pods, ConfigMaps and Secrets (informers, restarted when they stop on an
// error, as the apiserver ends every watch within 20-40 s here), keeps one RunnerPod per pod it
// runs and resyncs them periodically (status retries, token renewal).
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { CoreV1Api, KubeConfig, StorageV1Api, makeInformer } from '@kubernetes/client-node';
import type {
  Informer,
  KubernetesObject,
  ObjectCache,
  V1ConfigMap,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';

import { HarnessError } from '../process.ts';

import { AGDR_TEST_IMAGE } from './launch.ts';
import { RunnerPod } from './pod.ts';
import type { PodHost } from './pod.ts';
import { ensureStorageClass, provisionVolume, wantsVolume } from './provisioner.ts';

export interface PodRunnerOptions {
  readonly kubeconfig: string;
  /** Nodes whose pods the runner may run (the KWOK nodes). */
  readonly nodeNames: readonly string[];
  /** Per-pod directories and PV contents go under it. */
  readonly workDir: string;
  /** Container logs go to <logDir>/pods/, the runner's own to <logDir>/pod-runner.log. */
  readonly logDir: string;
  readonly agdrScript: string;
  readonly nodeBinary: string;
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Called when a container process starts or ends. */
  readonly onPidsChanged: () => void;
}

/** Whether the runner runs this pod: on one of its nodes, with a container of the agdr image. */
export function isRunnerPod(pod: V1Pod, nodeNames: readonly string[]): boolean {
  const node = pod.spec?.nodeName;
  return (
    node !== undefined &&
    nodeNames.includes(node) &&
    (pod.spec?.containers ?? []).some((c) => c.image === AGDR_TEST_IMAGE)
  );
}

const RESYNC_MS = 5_000;
const INFORMER_RETRY_MS = 2_000;
/** Grace period at harness teardown, whatever the pods ask for. */
const TEARDOWN_GRACE_MS = 5_000;

export class PodRunner {
  private readonly pods = new Map<string, RunnerPod>();
  private readonly informers: (Informer<KubernetesObject> & ObjectCache<KubernetesObject>)[] = [];
  private readonly configMaps: ObjectCache<V1ConfigMap>;
  private readonly secrets: ObjectCache<V1Secret>;
  private readonly host: PodHost;
  private readonly logPath: string;
  private readonly storage: StorageV1Api;
  private readonly options: PodRunnerOptions;
  private stopped = false;
  private resync: NodeJS.Timeout | undefined;

  private constructor(options: PodRunnerOptions) {
    this.options = options;
    const kc = new KubeConfig();
    kc.loadFromFile(options.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    this.logPath = join(options.logDir, 'pod-runner.log');
    const podsDir = join(options.workDir, 'pods');
    const volumesDir = join(options.workDir, 'persistent-volumes');
    const logDir = join(options.logDir, 'pods');
    for (const d of [podsDir, volumesDir, logDir]) mkdirSync(d, { recursive: true });

    const configMaps = this.inform<V1ConfigMap>(kc, '/api/v1/configmaps', () =>
      core.listConfigMapForAllNamespaces(),
    );
    const secrets = this.inform<V1Secret>(kc, '/api/v1/secrets', () =>
      core.listSecretForAllNamespaces(),
    );
    const claims = this.inform<V1PersistentVolumeClaim>(kc, '/api/v1/persistentvolumeclaims', () =>
      core.listPersistentVolumeClaimForAllNamespaces(),
    );
    const pods = this.inform<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    this.storage = kc.makeApiClient(StorageV1Api);
    this.configMaps = configMaps;
    this.secrets = secrets;
    const objectsChanged = (obj: KubernetesObject): void => {
      for (const pod of this.pods.values())
        if (pod.namespace === obj.metadata?.namespace) pod.schedule();
    };
    for (const verb of ['add', 'update', 'delete'] as const) {
      configMaps.on(verb, objectsChanged);
      secrets.on(verb, objectsChanged);
    }
    const claimChanged = (claim: V1PersistentVolumeClaim): void => {
      if (this.stopped || !wantsVolume(claim)) return;
      provisionVolume(core, claim, volumesDir).then(
        (pv) =>
          this.log('provisioned', {
            claim: `${claim.metadata?.namespace}/${claim.metadata?.name}`,
            pv,
          }),
        (err: unknown) =>
          this.log('provisioning failed', { claim: claim.metadata?.name, error: String(err) }),
      );
    };
    claims.on('add', claimChanged);
    claims.on('update', claimChanged);
    pods.on('add', (pod) => this.podChanged(pod));
    pods.on('update', (pod) => this.podChanged(pod));
    pods.on('delete', (pod) => this.podDeleted(pod));

    this.host = {
      core,
      podsDir,
      volumesDir,
      logDir,
      agdrScript: options.agdrScript,
      nodeBinary: options.nodeBinary,
      baseEnv: options.baseEnv,
      configMap: (ns, name) => {
        const cm = this.configMaps.get(name, ns);
        if (!cm) return undefined;
        return new Map([
          ...Object.entries(cm.data ?? {}).map(([k, v]): [string, Uint8Array] => [
            k,
            Buffer.from(v),
          ]),
          ...Object.entries(cm.binaryData ?? {}).map(([k, v]): [string, Uint8Array] => [
            k,
            Buffer.from(v, 'base64'),
          ]),
        ]);
      },
      secret: (ns, name) => {
        const secret = this.secrets.get(name, ns);
        if (!secret) return undefined;
        return new Map(
          Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
        );
      },
      pidsChanged: () => options.onPidsChanged(),
      log: (message, fields) => this.log(message, fields),
      event: (pod, container, type, reason, message) => {
        const meta = pod.metadata ?? {};
        const now = new Date();
        core
          .createNamespacedEvent({
            namespace: meta.namespace ?? 'default',
            body: {
              metadata: { generateName: `${meta.name}.` },
              involvedObject: {
                apiVersion: 'v1',
                kind: 'Pod',
                name: meta.name,
                namespace: meta.namespace,
                uid: meta.uid,
                ...(container ? { fieldPath: `spec.containers{${container}}` } : {}),
              },
              type,
              reason,
              message,
              source: { component: 'kubelet', host: pod.spec?.nodeName },
              firstTimestamp: now,
              lastTimestamp: now,
              count: 1,
            },
          })
          .catch((err: unknown) =>
            this.log('event not recorded', { reason, message, error: String(err) }),
          );
        this.log('event', {
          pod: `${meta.namespace}/${meta.name}`,
          container,
          type,
          reason,
          message,
        });
      },
    };
  }

  /**
   * Creates the default StorageClass and starts the informers (ConfigMaps and Secrets first, so
   * volumes find their sources).
   */
  static async start(options: PodRunnerOptions): Promise<PodRunner> {
    const major = Number(process.versions.node.split('.')[0]);
    if (major < 24) {
      throw new HarnessError(
        'OLD_NODE',
        `the pod runner needs Node 24 to run src/cli/agdr.ts, not ${process.version}`,
      );
    }
    const runner = new PodRunner(options);
    await ensureStorageClass(runner.storage);
    for (const informer of runner.informers) await informer.start();
    runner.resync = setInterval(() => {
      for (const pod of runner.pods.values()) pod.schedule();
    }, RESYNC_MS);
    runner.log('started', { image: AGDR_TEST_IMAGE, nodes: options.nodeNames });
    return runner;
  }

  /** PIDs of the running container processes (for the harness's orphan record). */
  pids(): number[] {
    return [...this.pods.values()].flatMap((p) => p.pids());
  }

  /** Stops the informers and every process (SIGTERM, then SIGKILL after a short grace). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    await Promise.all(this.informers.map((i) => i.stop()));
    await Promise.all([...this.pods.values()].map((p) => p.shutdown(TEARDOWN_GRACE_MS)));
    this.log('stopped');
  }

  killNow(): void {
    this.stopped = true;
    for (const pod of this.pods.values()) pod.killNow();
  }

  private inform<T extends KubernetesObject>(
    kc: KubeConfig,
    path: string,
    list: () => Promise<{ items: T[] }>,
  ): Informer<T> & ObjectCache<T> {
    const informer = makeInformer<T>(kc, path, list);
    // client-node stops an informer on error; start it again until the runner stops.
    const restart = (): void => {
      if (this.stopped) return;
      informer.start().catch((err: unknown) => {
        this.log('informer restart failed', { path, error: String(err) });
        setTimeout(restart, INFORMER_RETRY_MS);
      });
    };
    informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.log('informer error', { path, error: String(err) });
      setTimeout(restart, INFORMER_RETRY_MS);
    });
    this.informers.push(
      informer as unknown as Informer<KubernetesObject> & ObjectCache<KubernetesObject>,
    );
    return informer;
  }

  private podChanged(pod: V1Pod): void {
    if (this.stopped || !isRunnerPod(pod, this.options.nodeNames)) return;
    const uid = pod.metadata?.uid ?? '';
    let runnerPod = this.pods.get(uid);
    if (!runnerPod) {
      runnerPod = new RunnerPod(pod, this.host);
      this.pods.set(uid, runnerPod);
      this.log('pod seen', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, uid });
    }
    runnerPod.update(pod);
    this.forgetFinished();
  }

  private podDeleted(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const runnerPod = this.pods.get(uid);
    if (!runnerPod) return;
    runnerPod
      .gone()
      .catch((err: unknown) =>
        this.log('stopping a deleted pod failed', { uid, error: String(err) }),
      )
      .finally(() => this.pods.delete(uid));
  }

  private forgetFinished(): void {
    for (const [uid, pod] of this.pods) if (pod.finished) this.pods.delete(uid);
  }

  private log(message: string, fields: Record<string, unknown> = {}): void {
    appendFileSync(
      this.logPath,
      `${JSON.stringify({ time: new Date().toISOString(), message, ...fields })}\n`,
    );
  }
}
