// Writing an AgDRCluster's status: through the status subresource only, and only when the
// planned status differs from the stored one (a settled cluster causes no writes).
import type { Kube } from './kube.ts';
import type { AgDRClusterStatus } from './types.ts';

/** JSON with object keys sorted, so key order never counts as a change. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function sameStatus(a: AgDRClusterStatus | undefined, b: AgDRClusterStatus): boolean {
  return a !== undefined && stable(a) === stable(b);
}

/** Writes `next` unless it equals `stored`; true when it wrote. */
export async function writeStatusIfChanged(
  kube: Kube,
  namespace: string,
  name: string,
  stored: AgDRClusterStatus | undefined,
  next: AgDRClusterStatus,
): Promise<boolean> {
  if (sameStatus(stored, next)) return false;
  await kube.applyClusterStatus(namespace, name, next);
  return true;
}
