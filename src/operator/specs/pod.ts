// Pod template pieces shared by the shard and coordinator workloads: the restricted security
// context, the downward-API environment, probes and volumes.
import type {
  V1Container,
  V1EnvVar,
  V1PodSecurityContext,
  V1Probe,
  V1SecurityContext,
  V1Volume,
} from '@kubernetes/client-node';
import { AGDR_SPEC_DEFAULTS } from '../types.ts';
import type { AgDRClusterStored } from '../types.ts';

/** The image's non-root user (`USER node` in the Dockerfile). */
export const RUN_AS_USER = 1000;

/** Options the operator's flags supply to every builder. */
export interface BuildOptions {
  /** Image of the `agdr` binary when the cluster names none. */
  readonly defaultImage: string;
}

export function imageOf(cluster: AgDRClusterStored, options: BuildOptions): string {
  return cluster.spec.image ?? options.defaultImage;
}

/** Pod Security Standards "restricted": non-root, RuntimeDefault seccomp. */
export function podSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS_USER,
    runAsGroup: RUN_AS_USER,
    // The data volume must be writable by the process; mounted Secrets become group-readable
    // (0440), which the key file loader accepts.
    fsGroup: RUN_AS_USER,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function containerSecurityContext(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

/** POD_IP from the downward API: each process listens on its pod's own address. */
export const POD_IP_ENV: V1EnvVar = {
  name: 'POD_IP',
  valueFrom: { fieldRef: { fieldPath: 'status.podIP' } },
};

export function httpProbe(
  path: string,
  port: number,
  periodSeconds: number,
  failureThreshold: number,
): V1Probe {
  return {
    httpGet: { path, port },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  };
}

/** /tmp as an emptyDir: the root filesystem is read-only. */
export const TMP_VOLUME: V1Volume = { name: 'tmp', emptyDir: {} };
export const TMP_MOUNT = { name: 'tmp', mountPath: '/tmp' };

export function configMapVolume(volumeName: string, configMapName: string): V1Volume {
  return { name: volumeName, configMap: { name: configMapName } };
}

/** Mode of mounted key files: owner and (fsGroup) group read, nothing else. */
export const KEY_FILE_MODE = 0o440;

/** The compute resources of the shard container, as the cluster gives them. */
export function resourcesOf(cluster: AgDRClusterStored): V1Container['resources'] {
  const r = cluster.spec.resources;
  if (r === undefined) return undefined;
  const out: NonNullable<V1Container['resources']> = {};
  if (r.requests !== undefined) out.requests = stringValues(r.requests);
  if (r.limits !== undefined) out.limits = stringValues(r.limits);
  return out;
}

function stringValues(m: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
}

/** The cluster's storage request as a PVC spec. */
export function storageClaimSpec(cluster: AgDRClusterStored) {
  const { size, storageClassName } = cluster.spec.storage;
  return {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: size ?? AGDR_SPEC_DEFAULTS.storageSize } },
    ...(storageClassName !== undefined ? { storageClassName } : {}),
  };
}
