// One pod the runner runs: kubelet's sync loop for it. Waits for KWOK's pod IP, lays out the
// volumes and the pod's root directory, starts each container as a local process, keeps the
// ConfigMap/Secret/projected files current, writes the pod's status, and on deletion stops the
// processes (SIGTERM, the grace period, SIGKILL) before it removes the pod object.
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { ApiException, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Api, V1Container, V1Pod } from '@kubernetes/client-node';

import { writeAtomically } from './atomic-writer.ts';
import { LocalContainer } from './container.ts';
import type { ContainerLaunch } from './container.ts';
import { PodSpecError, containerEnv } from './env.ts';
import type { KeyedObjects } from './env.ts';
import { agdrArguments, checkRunAsNonRoot } from './launch.ts';
import { needsFixedPath, withFixedPaths } from './fixed-paths.ts';
import type { FixedPathLink } from './fixed-paths.ts';
import { mountPathRewriter, normalizeMountPath } from './paths.ts';
import { probeAttempt } from './probe.ts';
import type { ProbeKind } from './probe.ts';
import { podStatus, statusDiffers } from './status.ts';
import { volumeKind, volumePayload } from './volumes.ts';
import type { VolumeSources } from './volumes.ts';

/** What a pod needs from the runner around it. */
export interface PodHost {
  readonly core: CoreV1Api;
  /** Per-pod directories: <podsDir>/<ns>_<name>_<uid>/{root,volumes}. */
  readonly podsDir: string;
  /** PersistentVolume contents, one directory per PV name; kept across pods. */
  readonly volumesDir: string;
  /** Container logs: <logDir>/<ns>_<name>_<uid>/<container>/<restartCount>.log */
  readonly logDir: string;
  /** The agdr CLI entry and the Node that runs it. */
  readonly agdrScript: string;
  readonly nodeBinary: string;
  /** Environment every process starts from (PATH, the harness's orphan marker). */
  readonly baseEnv: Readonly<Record<string, string>>;
  configMap(namespace: string, name: string): ReadonlyMap<string, Uint8Array> | undefined;
  secret(namespace: string, name: string): ReadonlyMap<string, Uint8Array> | undefined;
  /** A process started or ended (the harness records PIDs for reaping orphans). */
  pidsChanged(): void;
  log(message: string, fields?: Record<string, unknown>): void;
  event(
    pod: V1Pod,
    container: string | undefined,
    type: string,
    reason: string,
    message: string,
  ): void;
}

/** Why a pod cannot start yet, shown as the containers' waiting reason. */
interface Problem {
  readonly reason: string;
  readonly message: string;
}

const DEFAULT_GRACE_SECONDS = 30;
/** kubelet refreshes a projected token once 80% of its lifetime has passed. */
const TOKEN_REFRESH_FRACTION = 0.8;

export class RunnerPod {
  private pod: V1Pod;
  private containers = new Map<string, LocalContainer>();
  private problem: Problem | undefined;
  private terminating: Promise<void> | undefined;
  private done = false;
  private queued = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly tokens = new Map<string, { token: string; refreshAt: number }>();
  readonly dir: string;

  private readonly host: PodHost;

  constructor(pod: V1Pod, host: PodHost) {
    this.pod = pod;
    this.host = host;
    const meta = pod.metadata ?? {};
    this.dir = join(host.podsDir, `${meta.namespace}_${meta.name}_${meta.uid}`);
  }

  get namespace(): string {
    return this.pod.metadata?.namespace ?? '';
  }

  get finished(): boolean {
    return this.done;
  }

  pids(): number[] {
    return [...this.containers.values()]
      .map((c) => c.pid)
      .filter((p): p is number => p !== undefined);
  }

  /** A newer copy of the pod from the watch. */
  update(pod: V1Pod): void {
    this.pod = pod;
    this.schedule();
  }

  /** Queues one sync; syncs never overlap and a burst of triggers collapses into one. */
  schedule(): void {
    if (this.queued || this.done) return;
    this.queued = true;
    this.chain = this.chain
      .then(async () => {
        this.queued = false;
        await this.sync();
      })
      .catch((err: unknown) => this.host.log('sync failed', { pod: this.key, error: String(err) }));
  }

  /** The pod object is gone (deleted by someone else): stop the processes as on deletion. */
  async gone(): Promise<void> {
    await this.terminate(false);
  }

  /** Harness teardown: stop quickly, write nothing to the apiserver. */
  async shutdown(graceMs: number): Promise<void> {
    this.done = true;
    await Promise.all([...this.containers.values()].map((c) => c.stop(graceMs)));
  }

  killNow(): void {
    this.done = true;
    for (const c of this.containers.values()) c.killNow();
  }

  private get key(): string {
    return `${this.namespace}/${this.pod.metadata?.name ?? ''}`;
  }

  private async sync(): Promise<void> {
    if (this.done) return;
    if (this.pod.metadata?.deletionTimestamp) {
      await this.terminate(true);
      return;
    }
    // KWOK assigns the pod IP (the runner's own stage); nothing can bind before it.
    if (!this.pod.status?.podIP) return;
    try {
      if (this.containers.size === 0) await this.startContainers();
      else await this.refreshFiles();
      this.problem = undefined;
    } catch (err) {
      if (!(err instanceof PodSpecError)) throw err;
      const reason =
        err.code === 'MISSING_OBJECT' || err.code === 'UNBOUND_CLAIM'
          ? 'ContainerCreating'
          : 'CreateContainerConfigError';
      if (this.problem?.message !== err.message) {
        this.host.event(
          this.pod,
          undefined,
          'Warning',
          err.code === 'UNBOUND_CLAIM' ? 'FailedMount' : 'Failed',
          err.message,
        );
      }
      this.problem = { reason, message: err.message };
    }
    await this.writeStatus();
  }

  private async startContainers(): Promise<void> {
    const pod = this.pod;
    const spec = pod.spec;
    if (!spec) throw new PodSpecError('NO_SPEC', 'spec', 'pod has no spec');
    if ((spec.initContainers ?? []).length > 0) {
      throw new PodSpecError(
        'UNSUPPORTED_POD',
        'spec.initContainers',
        'init containers are not supported by the pod runner',
      );
    }
    const volumeDirs = await this.prepareVolumes();
    const launches = spec.containers.map((c, i) => this.launchFor(c, i, volumeDirs));
    for (const launch of launches) {
      const container = new LocalContainer(
        launch,
        () => {
          this.host.pidsChanged();
          this.schedule();
        },
        (type, reason, message) => this.host.event(this.pod, launch.name, type, reason, message),
      );
      this.containers.set(launch.name, container);
      container.start();
      this.host.log('started container', {
        pod: this.key,
        container: launch.name,
        pid: container.pid,
        args: launch.args,
      });
    }
  }

  /** Host directory of every volume, made and filled. */
  private async prepareVolumes(): Promise<Map<string, string>> {
    const dirs = new Map<string, string>();
    for (const [i, volume] of (this.pod.spec?.volumes ?? []).entries()) {
      const field = `spec.volumes[${i}]`;
      const kind = volumeKind(volume, field);
      if (kind === 'claim') {
        dirs.set(
          volume.name,
          await this.claimDir(volume.persistentVolumeClaim?.claimName ?? '', field),
        );
        continue;
      }
      const dir = join(this.dir, 'volumes', volume.name);
      mkdirSync(dir, { recursive: true });
      if (kind === 'files')
        writeAtomically(dir, await volumePayload(this.pod, volume, field, this.sources()));
      dirs.set(volume.name, dir);
    }
    return dirs;
  }

  /** A PVC's data lives in a directory named after its bound PV, so it outlives the pod. */
  private async claimDir(claimName: string, field: string): Promise<string> {
    const claim = await this.host.core
      .readNamespacedPersistentVolumeClaim({ name: claimName, namespace: this.namespace })
      .catch((err: unknown) => {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw err;
      });
    const pv = claim?.status?.phase === 'Bound' ? claim.spec?.volumeName : undefined;
    if (!pv) {
      throw new PodSpecError(
        'UNBOUND_CLAIM',
        `${field}.persistentVolumeClaim`,
        claim
          ? `persistentvolumeclaim "${claimName}" is not bound`
          : `persistentvolumeclaim "${claimName}" not found`,
      );
    }
    const dir = join(this.host.volumesDir, pv);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  private launchFor(
    container: V1Container,
    index: number,
    volumeDirs: Map<string, string>,
  ): ContainerLaunch {
    const pod = this.pod;
    const field = `spec.containers[${index}]`;
    const root = join(this.dir, 'root');
    const mounts = container.volumeMounts ?? [];
    const fixedPaths: FixedPathLink[] = [];
    mounts.forEach((m, j) => {
      const source = volumeDirs.get(m.name);
      if (source === undefined) {
        throw new PodSpecError(
          'BAD_MOUNT',
          `${field}.volumeMounts[${j}]`,
          `no volume named "${m.name}"`,
        );
      }
      const path = normalizeMountPath(m.mountPath);
      const target = m.subPath ? join(source, m.subPath) : source;
      const link = join(root, path);
      mkdirSync(dirname(link), { recursive: true });
      rmSync(link, { force: true });
      symlinkSync(target, link);
      if (needsFixedPath(path)) fixedPaths.push({ path, target });
    });
    const rewrite = mountPathRewriter(
      root,
      mounts.map((m) => m.mountPath),
    );
    const env = containerEnv(pod, container, index, this.keyedObjects());
    const args = agdrArguments(container, env, field).map(rewrite);
    checkRunAsNonRoot(pod, container, field);
    const ports = container.ports ?? [];
    const probes: ContainerLaunch['probes'] = {};
    const kinds: [ProbeKind, V1Container['readinessProbe']][] = [
      ['startup', container.startupProbe],
      ['readiness', container.readinessProbe],
      ['liveness', container.livenessProbe],
    ];
    for (const [kind, probe] of kinds) {
      if (probe)
        probes[kind] = {
          probe,
          attempt: probeAttempt(probe, pod.status?.podIP ?? '', ports, `${field}.${kind}Probe`),
        };
    }
    const graceSeconds =
      container.livenessProbe?.terminationGracePeriodSeconds ??
      pod.spec?.terminationGracePeriodSeconds ??
      DEFAULT_GRACE_SECONDS;
    const policy = pod.spec?.restartPolicy ?? 'Always';
    const commandLine = withFixedPaths(
      this.host.nodeBinary,
      [this.host.agdrScript, ...args],
      fixedPaths,
    );
    return {
      name: container.name,
      image: container.image ?? '',
      command: commandLine.command,
      args: commandLine.args,
      env: {
        ...this.host.baseEnv,
        HOSTNAME: pod.metadata?.name ?? '',
        HOME: root,
        NODE_ENV: 'production',
        ...Object.fromEntries([...env].map(([k, v]) => [k, rewrite(v)])),
      },
      cwd: container.workingDir ? rewrite(container.workingDir) : root,
      logDir: join(
        this.host.logDir,
        `${this.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`,
        container.name,
      ),
      restartPolicy: policy === 'Never' || policy === 'OnFailure' ? policy : 'Always',
      graceMs: graceSeconds * 1000,
      probes,
    };
  }

  /** Rewrites the files of ConfigMap, Secret, downward API and projected volumes that changed. */
  private async refreshFiles(): Promise<void> {
    for (const [i, volume] of (this.pod.spec?.volumes ?? []).entries()) {
      const field = `spec.volumes[${i}]`;
      if (volumeKind(volume, field) !== 'files') continue;
      const dir = join(this.dir, 'volumes', volume.name);
      if (writeAtomically(dir, await volumePayload(this.pod, volume, field, this.sources()))) {
        this.host.log('updated volume', { pod: this.key, volume: volume.name });
      }
    }
  }

  private keyedObjects(): KeyedObjects {
    const decode = (m: ReadonlyMap<string, Uint8Array> | undefined) =>
      m && Object.fromEntries([...m].map(([k, v]) => [k, Buffer.from(v).toString('utf8')]));
    return {
      configMap: (name) => decode(this.host.configMap(this.namespace, name)),
      secret: (name) => decode(this.host.secret(this.namespace, name)),
    };
  }

  private sources(): VolumeSources {
    return {
      configMap: (name) => this.host.configMap(this.namespace, name),
      secret: (name) => this.host.secret(this.namespace, name),
      serviceAccountToken: (audience, expirationSeconds) => this.token(audience, expirationSeconds),
    };
  }

  /** A TokenRequest for the pod's ServiceAccount, bound to the pod, renewed at 80% of its life. */
  private async token(audience: string | undefined, expirationSeconds: number): Promise<string> {
    const key = `${audience ?? ''}|${expirationSeconds}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    const meta = this.pod.metadata ?? {};
    const issued = Date.now();
    const response = await this.host.core.createNamespacedServiceAccountToken({
      name: this.pod.spec?.serviceAccountName ?? 'default',
      namespace: this.namespace,
      body: {
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: meta.name, uid: meta.uid },
        },
      },
    });
    const token = response.status?.token ?? '';
    const expires = new Date(
      response.status?.expirationTimestamp ?? issued + expirationSeconds * 1000,
    ).getTime();
    this.tokens.set(key, {
      token,
      refreshAt: issued + (expires - issued) * TOKEN_REFRESH_FRACTION,
    });
    return token;
  }

  private async writeStatus(): Promise<void> {
    const containers =
      this.pod.spec?.containers.map(
        (c) =>
          this.containers.get(c.name)?.status() ?? {
            name: c.name,
            image: c.image ?? '',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ContainerCreating' } },
          },
      ) ?? [];
    const next = podStatus(this.pod, containers, this.problem, new Date());
    if (!statusDiffers(this.pod.status, next)) return;
    const meta = this.pod.metadata ?? {};
    this.pod = await this.host.core.patchNamespacedPodStatus(
      {
        name: meta.name ?? '',
        namespace: this.namespace,
        // null removes a message/reason that no longer applies (JSON merge patch).
        body: { status: { ...next, message: next.message ?? null, reason: next.reason ?? null } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /**
   * kubelet's graceful deletion: SIGTERM, the pod's deletion grace period, SIGKILL; then the pod
   * object is deleted for good (grace 0, only this uid) when `deleteObject`.
   */
  private terminate(deleteObject: boolean): Promise<void> {
    this.terminating ??= (async () => {
      const meta = this.pod.metadata ?? {};
      const graceSeconds =
        meta.deletionGracePeriodSeconds ??
        this.pod.spec?.terminationGracePeriodSeconds ??
        DEFAULT_GRACE_SECONDS;
      for (const name of this.containers.keys()) {
        this.host.event(this.pod, name, 'Normal', 'Killing', `Stopping container ${name}`);
      }
      await Promise.all([...this.containers.values()].map((c) => c.stop(graceSeconds * 1000)));
      this.host.log('stopped containers', {
        pod: this.key,
        containers: [...this.containers.values()].map((c) => c.status().state),
      });
      if (deleteObject) {
        await this.host.core
          .deleteNamespacedPod({
            name: meta.name ?? '',
            namespace: this.namespace,
            // With a body the apiserver reads the options from it only (not the query).
            body: { gracePeriodSeconds: 0, preconditions: { uid: meta.uid } },
          })
          .catch((err: unknown) => {
            // Already gone, or a new pod of the same name: nothing of ours to delete.
            if (err instanceof ApiException && (err.code === 404 || err.code === 409)) return;
            throw err;
          });
      }
      rmSync(this.dir, { recursive: true, force: true });
      this.done = true;
    })().catch((err: unknown) => {
      // The next sync tries again (the processes are already stopped by then).
      this.terminating = undefined;
      throw err;
    });
    return this.terminating;
  }
}
