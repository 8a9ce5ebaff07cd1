// Writing desired objects: server-side apply for everything the operator keeps in shape (and no
// cluster owner reference on what outlives the cluster), and create-once for what must never be
// rewritten (key Secrets, the coordinator's volume claim).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Kube, ObjectKey } from './kube.ts';
import { KubeError } from './kube.ts';
import { isClusterOwnerReference } from './names.ts';

/**
 * The merge patch that removes `stored`'s owner references to an AgDRCluster when `desired`
 * names none (an object that outlives the cluster, stored by an operator version that made the
 * cluster its owner), conditional on the stored resourceVersion; undefined when there is none.
 */
export function orphanPatch(
  desired: KubernetesObject,
  stored: KubernetesObject,
): KubernetesObject | undefined {
  if (desired.metadata?.ownerReferences !== undefined) return undefined;
  const refs = stored.metadata?.ownerReferences ?? [];
  const kept = refs.filter((r) => !isClusterOwnerReference(r));
  if (kept.length === refs.length) return undefined;
  return {
    apiVersion: stored.apiVersion ?? desired.apiVersion ?? '',
    kind: stored.kind ?? desired.kind ?? '',
    metadata: {
      name: stored.metadata?.name ?? '',
      namespace: stored.metadata?.namespace ?? '',
      ...(stored.metadata?.resourceVersion !== undefined
        ? { resourceVersion: stored.metadata.resourceVersion }
        : {}),
      ownerReferences: kept,
    },
  };
}

/**
 * Applies each object in order (dependencies first); stops at the first failure. An object
 * applied without owner references keeps none to a cluster: server-side apply drops the ones
 * this field manager applied before, and a merge patch removes any another manager holds, so
 * deleting the cluster never takes it. Nothing is written when there is nothing to remove.
 */
export async function applyAll(kube: Kube, objects: readonly KubernetesObject[]): Promise<void> {
  for (const obj of objects) {
    const stored = await kube.apply(obj);
    const patch = orphanPatch(obj, stored);
    if (patch !== undefined) await kube.mergePatch(patch);
  }
}

function keyOf(obj: KubernetesObject): ObjectKey {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
  };
}

/**
 * The existing object, or `build()` created. Two operators racing (or a stale cache) end with
 * the one object the apiserver accepted first: AlreadyExists is answered by reading it back.
 */
export async function ensureCreated<T extends KubernetesObject>(
  kube: Kube,
  existing: T | undefined,
  build: () => T,
): Promise<{ object: T; created: boolean }> {
  if (existing !== undefined) return { object: existing, created: false };
  const desired = build();
  try {
    return { object: await kube.create(desired), created: true };
  } catch (err) {
    if (!(err instanceof KubeError) || err.code !== 'already_exists') throw err;
    const found = await kube.read<T>(keyOf(desired));
    if (found === undefined) throw err;
    return { object: found, created: false };
  }
}
