// The files of a pod's ConfigMap, Secret, downward API and projected volumes, as kubelet lays
// them out (one file per key, or per `items` entry, with defaultMode/mode); written with the
// atomic writer so updates swap in whole.
import type { V1KeyToPath, V1Pod, V1Volume } from '@kubernetes/client-node';

import type { Payload, PayloadFile } from './atomic-writer.ts';
import { PodSpecError, downwardField } from './env.ts';

/** The objects and tokens a pod's volumes read (names are in the pod's namespace). */
export interface VolumeSources {
  configMap(name: string): ReadonlyMap<string, Uint8Array> | undefined;
  secret(name: string): ReadonlyMap<string, Uint8Array> | undefined;
  /** A TokenRequest token for the pod's ServiceAccount, bound to the pod. */
  serviceAccountToken(audience: string | undefined, expirationSeconds: number): Promise<string>;
}

/** Kubernetes' default file mode for projected files (0644). */
const DEFAULT_MODE = 0o644;

/** How the runner provides a volume on the host. */
export type VolumeKind = 'files' | 'emptyDir' | 'claim';

export function volumeKind(volume: V1Volume, field: string): VolumeKind {
  if (volume.configMap || volume.secret || volume.downwardAPI || volume.projected) return 'files';
  if (volume.emptyDir) return 'emptyDir';
  if (volume.persistentVolumeClaim) return 'claim';
  throw new PodSpecError(
    'UNSUPPORTED_VOLUME',
    field,
    'the pod runner supports configMap, secret, downwardAPI, projected, emptyDir and ' +
      'persistentVolumeClaim volumes',
  );
}

/** The files of a `files` volume; throws PodSpecError for a missing non-optional source. */
export async function volumePayload(
  pod: V1Pod,
  volume: V1Volume,
  field: string,
  sources: VolumeSources,
): Promise<Payload> {
  const files = new Map<string, PayloadFile>();
  if (volume.configMap) {
    const s = volume.configMap;
    addKeyed(files, 'configmap', s.name ?? '', sources.configMap(s.name ?? ''), s, {
      defaultMode: s.defaultMode,
      field: `${field}.configMap`,
    });
  } else if (volume.secret) {
    const s = volume.secret;
    addKeyed(files, 'secret', s.secretName ?? '', sources.secret(s.secretName ?? ''), s, {
      defaultMode: s.defaultMode,
      field: `${field}.secret`,
    });
  } else if (volume.downwardAPI) {
    for (const [i, item] of (volume.downwardAPI.items ?? []).entries()) {
      addDownward(
        files,
        pod,
        item,
        volume.downwardAPI.defaultMode,
        `${field}.downwardAPI.items[${i}]`,
      );
    }
  } else if (volume.projected) {
    const defaultMode = volume.projected.defaultMode;
    for (const [i, source] of (volume.projected.sources ?? []).entries()) {
      const at = `${field}.projected.sources[${i}]`;
      if (source.configMap) {
        const s = source.configMap;
        addKeyed(files, 'configmap', s.name ?? '', sources.configMap(s.name ?? ''), s, {
          defaultMode,
          field: `${at}.configMap`,
        });
      } else if (source.secret) {
        const s = source.secret;
        addKeyed(files, 'secret', s.name ?? '', sources.secret(s.name ?? ''), s, {
          defaultMode,
          field: `${at}.secret`,
        });
      } else if (source.downwardAPI) {
        for (const [j, item] of (source.downwardAPI.items ?? []).entries()) {
          addDownward(files, pod, item, defaultMode, `${at}.downwardAPI.items[${j}]`);
        }
      } else if (source.serviceAccountToken) {
        const t = source.serviceAccountToken;
        const token = await sources.serviceAccountToken(t.audience, t.expirationSeconds ?? 3600);
        // kubelet writes tokens 0600 unless a mode is asked for.
        files.set(t.path, { data: Buffer.from(token), mode: defaultMode ?? 0o600 });
      } else {
        throw new PodSpecError(
          'UNSUPPORTED_VOLUME',
          at,
          'projected sources: configMap, secret, downwardAPI, serviceAccountToken',
        );
      }
    }
  }
  return files;
}

function addKeyed(
  files: Map<string, PayloadFile>,
  kind: 'configmap' | 'secret',
  name: string,
  data: ReadonlyMap<string, Uint8Array> | undefined,
  source: { items?: V1KeyToPath[]; optional?: boolean },
  options: { defaultMode: number | undefined; field: string },
): void {
  const mode = options.defaultMode ?? DEFAULT_MODE;
  if (data === undefined) {
    if (source.optional) return;
    throw new PodSpecError('MISSING_OBJECT', options.field, `${kind} "${name}" not found`);
  }
  if (source.items === undefined) {
    for (const [key, value] of data) files.set(key, { data: value, mode });
    return;
  }
  source.items.forEach((item, i) => {
    const value = data.get(item.key);
    if (value === undefined) {
      if (source.optional) return;
      throw new PodSpecError(
        'MISSING_OBJECT',
        `${options.field}.items[${i}]`,
        `key "${item.key}" not found in ${kind} "${name}"`,
      );
    }
    files.set(item.path, { data: value, mode: item.mode ?? mode });
  });
}

function addDownward(
  files: Map<string, PayloadFile>,
  pod: V1Pod,
  item: { path: string; fieldRef?: { fieldPath: string }; mode?: number },
  defaultMode: number | undefined,
  field: string,
): void {
  if (!item.fieldRef) {
    throw new PodSpecError('UNSUPPORTED_VOLUME', field, 'only fieldRef items are supported');
  }
  files.set(item.path, {
    data: Buffer.from(downwardField(pod, item.fieldRef, `${field}.fieldRef`)),
    mode: item.mode ?? defaultMode ?? DEFAULT_MODE,
  });
}
