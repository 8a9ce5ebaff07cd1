// One container of a runner-owned pod as a local process, with kubelet's lifecycle: probes
// (startup gates readiness and liveness), restart on exit per restartPolicy with kubelet's
// back-off (the first restart at once, then 10 s doubling to 300 s, reset after 10 minutes
// without a crash), a restart on liveness failure, SIGTERM → grace period → SIGKILL on stop.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

import type {
  V1ContainerState,
  V1ContainerStateTerminated,
  V1ContainerStatus,
  V1Probe,
} from '@kubernetes/client-node';

import { ProbeLoop } from './probe.ts';
import type { ProbeAttempt, ProbeKind } from './probe.ts';

export interface ContainerLaunch {
  readonly name: string;
  readonly image: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** kubelet's layout: <logDir>/<restartCount>.log */
  readonly logDir: string;
  readonly restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** Grace period for a liveness restart (pod or probe terminationGracePeriodSeconds). */
  readonly graceMs: number;
  readonly probes: Partial<Record<ProbeKind, { probe: V1Probe; attempt: ProbeAttempt }>>;
}

export type ContainerEvent = (type: 'Normal' | 'Warning', reason: string, message: string) => void;

const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
const BACKOFF_RESET_MS = 600_000;

export class LocalContainer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private restartCount = 0;
  private state: V1ContainerState = { waiting: { reason: 'ContainerCreating' } };
  private lastState: V1ContainerState = {};
  private ready = false;
  private started = false;
  private probes: ProbeLoop[] = [];
  private stopping = false;
  private backoffMs = 0;
  private lastStartAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  private readonly launch: ContainerLaunch;
  private readonly onChange: () => void;
  private readonly onEvent: ContainerEvent;

  constructor(launch: ContainerLaunch, onChange: () => void, onEvent: ContainerEvent) {
    this.launch = launch;
    this.onChange = onChange;
    this.onEvent = onEvent;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null
      ? this.child.pid
      : undefined;
  }

  start(): void {
    if (this.stopping) return;
    mkdirSync(this.launch.logDir, { recursive: true });
    const fd = openSync(join(this.launch.logDir, `${this.restartCount}.log`), 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.launch.command, [...this.launch.args], {
        cwd: this.launch.cwd,
        env: { ...this.launch.env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    const startedAt = new Date();
    this.lastStartAt = startedAt.getTime();
    this.state = { running: { startedAt } };
    this.ready = false;
    this.started = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.onExit(startedAt, code, signal);
        resolve();
      });
    });
    child.once('error', (err) => {
      this.onEvent(
        'Warning',
        'Failed',
        `Error: failed to start container "${this.launch.name}": ${err.message}`,
      );
    });
    this.onEvent('Normal', 'Started', `Started container ${this.launch.name}`);
    this.startProbes();
    this.onChange();
  }

  /** SIGTERM, then SIGKILL after graceMs; no restart afterwards. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.kill(graceMs);
  }

  /** Synchronous SIGKILL for the harness's last-resort teardown. */
  killNow(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.pid !== undefined) this.child?.kill('SIGKILL');
  }

  status(): V1ContainerStatus {
    const pid = this.pid;
    return {
      name: this.launch.name,
      image: this.launch.image,
      imageID: '',
      ...(pid === undefined ? {} : { containerID: `agdr-runner://${pid}` }),
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      state: this.state,
      lastState: this.lastState,
    };
  }

  private async kill(graceMs: number): Promise<void> {
    this.stopProbes();
    const child = this.child;
    if (!child || this.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onExit(startedAt: Date, code: number | null, signal: NodeJS.Signals | null): void {
    this.stopProbes();
    const exitCode = code ?? 128 + signalNumber(signal);
    const terminated: V1ContainerStateTerminated = {
      exitCode,
      ...(signal ? { signal: signalNumber(signal) } : {}),
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt,
      finishedAt: new Date(),
      containerID: `agdr-runner://${this.child?.pid ?? 0}`,
    };
    this.ready = false;
    this.started = false;
    if (this.stopping) {
      this.state = { terminated };
      this.onChange();
      return;
    }
    this.lastState = { terminated };
    const policy = this.launch.restartPolicy;
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) {
      this.state = { terminated };
      this.onChange();
      return;
    }
    const now = Date.now();
    if (now - this.lastStartAt > BACKOFF_RESET_MS) this.backoffMs = 0;
    const delay = Math.max(0, this.lastStartAt + this.backoffMs - now);
    this.backoffMs =
      this.backoffMs === 0 ? BACKOFF_INITIAL_MS : Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    if (delay > 0) {
      const message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${this.launch.name}`;
      this.state = { waiting: { reason: 'CrashLoopBackOff', message } };
      this.onEvent(
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${this.launch.name}`,
      );
    } else {
      this.state = { waiting: { reason: 'ContainerCreating' } };
    }
    this.onChange();
    // restartCount counts restarts done, so it moves when the process starts again.
    this.restartTimer = setTimeout(() => {
      this.restartCount += 1;
      this.start();
    }, delay);
  }

  private startProbes(): void {
    const { startup, readiness, liveness } = this.launch.probes;
    const afterStartup = (): void => {
      this.started = true;
      if (!readiness) this.ready = true;
      this.onChange();
      if (readiness) {
        this.addProbe(readiness.probe, readiness.attempt, (ok, message) => {
          this.ready = ok;
          if (!ok) this.onEvent('Warning', 'Unhealthy', `Readiness probe failed: ${message}`);
          this.onChange();
        });
      }
      if (liveness) {
        this.addProbe(liveness.probe, liveness.attempt, (ok, message) => {
          if (!ok) this.restartAfterProbe('Liveness', message);
        });
      }
    };
    if (!startup) {
      afterStartup();
      return;
    }
    this.addProbe(startup.probe, startup.attempt, (ok, message) => {
      if (ok) {
        this.probes.find((p) => p.probe === startup.probe)?.stop();
        afterStartup();
        return;
      }
      this.restartAfterProbe('Startup', message);
    });
  }

  /** A failed liveness or startup probe: kill (grace period first); onExit restarts it. */
  private restartAfterProbe(probe: 'Liveness' | 'Startup', message: string): void {
    this.onEvent('Warning', 'Unhealthy', `${probe} probe failed: ${message}`);
    this.onEvent(
      'Normal',
      'Killing',
      `Container ${this.launch.name} failed ${probe.toLowerCase()} probe, will be restarted`,
    );
    void this.kill(this.launch.graceMs);
  }

  private addProbe(
    probe: V1Probe,
    attempt: ProbeAttempt,
    onResult: (ok: boolean, message: string) => void,
  ): void {
    const loop = new ProbeLoop(probe, attempt, onResult);
    this.probes.push(loop);
    loop.start();
  }

  private stopProbes(): void {
    for (const p of this.probes) p.stop();
    this.probes = [];
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === null ? 0 : (constants.signals[signal] ?? 0);
}
