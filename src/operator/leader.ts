// Leader election on a coordination.k8s.io/v1 Lease (client-node has no helper), following
// client-go's leaderelection: a candidate takes the Lease when it is free or its holder has not
// renewed it for leaseDuration (measured on our own clock from when we last saw it change, so
// clocks need not agree); the leader renews every retryPeriod and gives up if it cannot renew
// within renewDeadline. Writes use the Lease's resourceVersion, so two candidates never both
// win. A clean shutdown releases the Lease so a standby takes over at once.
import type { V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Kube } from './kube.ts';
import { KubeError } from './kube.ts';
import { microTime } from './events.ts';

export interface LeaderElectionConfig {
  readonly namespace: string;
  readonly name: string;
  /** This process's identity (pod name + random suffix). */
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

export class LeaderElector {
  readonly #kube: Kube;
  readonly #config: LeaderElectionConfig;
  readonly #log: Logger;
  /** The Lease as last read or written, and when (our clock) its holder/renewTime last changed. */
  #observed: V1Lease | undefined;
  #observedAt = 0;
  #leading = false;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(kube: Kube, config: LeaderElectionConfig, log: Logger) {
    this.#kube = kube;
    this.#config = config;
    this.#log = log.child({ component: 'leader', lease: `${config.namespace}/${config.name}` });
  }

  get leading(): boolean {
    return this.#leading;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  #record(holder: string | null, lease: V1Lease | undefined, now: Date): V1Lease {
    const spec = lease?.spec ?? {};
    const takingOver = spec.holderIdentity !== holder;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.#config.name,
        namespace: this.#config.namespace,
        ...(lease?.metadata?.resourceVersion !== undefined
          ? { resourceVersion: lease.metadata.resourceVersion }
          : {}),
      },
      spec: {
        ...(holder !== null ? { holderIdentity: holder } : {}),
        leaseDurationSeconds: Math.max(1, Math.ceil(this.#config.leaseDurationMs / 1000)),
        // MicroTime strings: client-node passes them through unchanged.
        acquireTime: (takingOver ? microTime(now) : spec.acquireTime) as unknown as Date,
        renewTime: microTime(now) as unknown as Date,
        // A new holder of an existing Lease is a transition (client-go counts the same way).
        leaseTransitions:
          (spec.leaseTransitions ?? 0) +
          (lease !== undefined && takingOver && holder !== null ? 1 : 0),
      },
    };
  }

  /** One attempt to take or renew the Lease; true if we hold it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const key = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: this.#config.namespace,
      name: this.#config.name,
    };
    const current = await this.#kube.read<V1Lease>(key);
    if (current === undefined) {
      try {
        this.#observed = await this.#kube.create(
          this.#record(this.#config.identity, undefined, now),
        );
        this.#observedAt = Date.now();
        return true;
      } catch (err) {
        if (err instanceof KubeError && err.code === 'already_exists') return false;
        throw err;
      }
    }
    const holder = current.spec?.holderIdentity;
    if (
      this.#observed === undefined ||
      this.#observed.spec?.holderIdentity !== holder ||
      String(this.#observed.spec?.renewTime) !== String(current.spec?.renewTime)
    ) {
      this.#observed = current;
      this.#observedAt = Date.now();
    }
    const durationMs = (current.spec?.leaseDurationSeconds ?? 0) * 1000;
    const heldByOther = holder !== undefined && holder !== '' && holder !== this.#config.identity;
    if (heldByOther && this.#observedAt + durationMs > Date.now()) return false;
    try {
      this.#observed = await this.#kube.replace(this.#record(this.#config.identity, current, now));
      this.#observedAt = Date.now();
      return true;
    } catch (err) {
      if (err instanceof KubeError && err.code === 'conflict') return false;
      throw err;
    }
  }

  /**
   * Campaigns until this process leads; resolves true once it does, false if stopped first.
   */
  async acquire(): Promise<boolean> {
    while (!this.#stopped) {
      try {
        if (await this.tryAcquireOrRenew()) {
          this.#leading = true;
          this.#log.info({ identity: this.#config.identity }, 'became leader');
          return true;
        }
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'lease not acquired');
      }
      await this.#sleep(this.#config.retryPeriodMs);
    }
    return false;
  }

  /**
   * Renews every retryPeriod while leading. Resolves when leadership is lost (no successful
   * renewal within renewDeadline) with 'lost', or with 'stopped' after stop().
   */
  async hold(): Promise<'lost' | 'stopped'> {
    let lastRenew = Date.now();
    while (!this.#stopped) {
      await this.#sleep(this.#config.retryPeriodMs);
      if (this.#stopped) break;
      try {
        if (await this.tryAcquireOrRenew()) {
          lastRenew = Date.now();
          continue;
        }
        this.#log.warn('lease taken by another operator');
        this.#leading = false;
        return 'lost';
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'lease renewal failed');
      }
      if (Date.now() - lastRenew > this.#config.renewDeadlineMs) {
        this.#leading = false;
        this.#log.error('lease not renewed within the renew deadline');
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Stops campaigning or renewing. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
  }

  /** Gives the Lease up (empty holder) if we hold it, so a standby need not wait it out. */
  async release(): Promise<void> {
    if (!this.#leading || this.#observed === undefined) return;
    this.#leading = false;
    const released = this.#record(null, this.#observed, new Date());
    if (released.spec !== undefined) released.spec.leaseDurationSeconds = 1;
    try {
      await this.#kube.replace(released);
      this.#log.info('lease released');
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'lease not released');
    }
  }
}
