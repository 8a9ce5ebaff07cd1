// A container's environment as kubelet builds it: envFrom first, then env in order, each value
// `$(VAR)`-expanded against the variables defined before it; downward API `fieldRef` values,
// `secretKeyRef` and `configMapKeyRef` resolved from the pod and the objects the runner sees.
import type { V1Container, V1ObjectFieldSelector, V1Pod } from '@kubernetes/client-node';

import { expandKubeVars } from './expand.ts';

export class PodSpecError extends Error {
  readonly code: string;
  /** Field path in the pod, e.g. spec.containers[0].env[2].valueFrom. */
  readonly field: string;
  constructor(code: string, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'PodSpecError';
    this.code = code;
    this.field = field;
  }
}

/** Read access to the ConfigMaps and Secrets of the pod's namespace (values decoded). */
export interface KeyedObjects {
  configMap(name: string): Readonly<Record<string, string>> | undefined;
  secret(name: string): Readonly<Record<string, string>> | undefined;
}

/**
 * The value of a downward API field (env `fieldRef` and downwardAPI volume items), for the
 * paths kubelet supports.
 */
export function downwardField(pod: V1Pod, ref: V1ObjectFieldSelector, field: string): string {
  const path = ref.fieldPath;
  const meta = pod.metadata ?? {};
  const mapKey = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (mapKey) {
    const map = mapKey[1] === 'labels' ? meta.labels : meta.annotations;
    return map?.[mapKey[2] ?? ''] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((a) => a.ip).join(',');
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((a) => a.ip).join(',');
    default:
      throw new PodSpecError('UNSUPPORTED_FIELD', field, `fieldPath ${path} is not supported`);
  }
}

/** kubelet's format for whole label/annotation maps: sorted `key="value"` lines. */
function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map?.[k] ?? '')}`)
    .join('\n');
}

/**
 * The container's environment in definition order (later definitions of a name win, as in
 * kubelet). Throws PodSpecError for a missing non-optional key or object and for sources the
 * runner cannot supply (resourceFieldRef, fileKeyRef).
 */
export function containerEnv(
  pod: V1Pod,
  container: V1Container,
  containerIndex: number,
  objects: KeyedObjects,
): Map<string, string> {
  const env = new Map<string, string>();
  const base = `spec.containers[${containerIndex}]`;
  (container.envFrom ?? []).forEach((source, i) => {
    const field = `${base}.envFrom[${i}]`;
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref) throw new PodSpecError('UNSUPPORTED_ENV', field, 'no configMapRef or secretRef');
    const data = source.configMapRef
      ? objects.configMap(ref.name ?? '')
      : objects.secret(ref.name ?? '');
    if (data === undefined) {
      if (ref.optional) return;
      const kind = source.configMapRef ? 'configmap' : 'secret';
      throw new PodSpecError('MISSING_OBJECT', field, `${kind} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env.set(`${source.prefix ?? ''}${k}`, v);
  });
  (container.env ?? []).forEach((v, i) => {
    const field = `${base}.env[${i}]`;
    if (v.valueFrom === undefined) {
      env.set(
        v.name,
        expandKubeVars(v.value ?? '', (name) => env.get(name)),
      );
      return;
    }
    const from = v.valueFrom;
    if (from.fieldRef) {
      env.set(v.name, downwardField(pod, from.fieldRef, `${field}.valueFrom.fieldRef`));
      return;
    }
    const keyRef = from.configMapKeyRef ?? from.secretKeyRef;
    if (keyRef) {
      const kind = from.configMapKeyRef ? 'configmap' : 'secret';
      const data = from.configMapKeyRef
        ? objects.configMap(keyRef.name ?? '')
        : objects.secret(keyRef.name ?? '');
      const value = data?.[keyRef.key];
      if (value === undefined) {
        if (keyRef.optional) return;
        throw new PodSpecError(
          'MISSING_OBJECT',
          `${field}.valueFrom`,
          data === undefined
            ? `${kind} "${keyRef.name}" not found`
            : `key "${keyRef.key}" not found in ${kind} "${keyRef.name}"`,
        );
      }
      env.set(v.name, value);
      return;
    }
    throw new PodSpecError(
      'UNSUPPORTED_ENV',
      `${field}.valueFrom`,
      'only fieldRef, configMapKeyRef and secretKeyRef are supported by the pod runner',
    );
  });
  return env;
}
