// What the cluster tier's global setup hands to test files (vitest provide/inject), and the
// small client for the harness control endpoint (restarting the apiserver, stopping and
// starting Vault from a test).
import { join } from 'node:path';

import type { V1Pod } from '@kubernetes/client-node';
import { inject } from 'vitest';

import type { ClusterInfo } from './cluster.ts';
import { Kubectl } from './kubectl.ts';
import { HarnessError } from './process.ts';

export interface HarnessControl {
  /** http://127.0.0.1:PORT of the global setup's control endpoint. */
  readonly url: string;
  /** Bearer token the endpoint requires. */
  readonly token: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
    harnessControl: HarnessControl;
  }
}

export function clusterInfo(): ClusterInfo {
  return inject('cluster');
}

/** kubectl (the built one) with the harness admin kubeconfig. */
export function clusterKubectl(): Kubectl {
  const info = inject('cluster');
  return new Kubectl(info.bins.kubectl, info.kubeconfig);
}

async function control(action: string, timeoutMs: number): Promise<void> {
  const c = inject('harnessControl');
  const res = await fetch(`${c.url}/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${c.token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200) {
    throw new HarnessError(
      'CONTROL_FAILED',
      `${action} failed (${res.status}): ${await res.text()}`,
    );
  }
}

/** Asks the global setup to restart kube-apiserver; resolves once it is ready again. */
export function restartApiserver(timeoutMs = 120_000): Promise<void> {
  return control('apiserver/restart', timeoutMs);
}

/** Stops Vault (connections are refused until `startVault()`). */
export function stopVault(timeoutMs = 30_000): Promise<void> {
  return control('vault/stop', timeoutMs);
}

/** Starts Vault again, unsealed, with everything it stored before. */
export function startVault(timeoutMs = 120_000): Promise<void> {
  return control('vault/start', timeoutMs);
}

/**
 * The pod runner's root directory of a pod it runs: each volumeMount's mountPath is a symlink
 * under it (root/var/lib/agdr → the volume's directory).
 */
export function podRootDir(pod: V1Pod): string {
  const m = pod.metadata ?? {};
  return join(inject('cluster').workDir, 'pods', `${m.namespace}_${m.name}_${m.uid}`, 'root');
}

/** Output of one run of a container the pod runner started (kubelet's /var/log/pods layout). */
export function containerLogPath(pod: V1Pod, container: string, restartCount = 0): string {
  const m = pod.metadata ?? {};
  return join(
    inject('cluster').logDir,
    'pods',
    `${m.namespace}_${m.name}_${m.uid}`,
    container,
    `${restartCount}.log`,
  );
}
