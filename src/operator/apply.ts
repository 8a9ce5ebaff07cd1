// Writing desired objects: server-side apply for everything the operator keeps in shape, and
// create-once for what must never be rewritten (key Secrets, the coordinator's volume claim).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Kube, ObjectKey } from './kube.ts';
import { KubeError } from './kube.ts';

/** Applies each object in order (dependencies first); stops at the first failure. */
export async function applyAll(kube: Kube, objects: readonly KubernetesObject[]): Promise<void> {
  for (const obj of objects) await kube.apply(obj);
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
