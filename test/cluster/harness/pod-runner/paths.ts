// Container paths on the host. A process the runner starts cannot see the container's
// filesystem, so every volumeMount's mountPath M is made a symlink ROOT/M inside the pod's root
// directory (to the volume's host directory, or its subPath), and every occurrence of a mount
// path in the container's expanded args, env values and workingDir is rewritten to ROOT/M.
// An occurrence counts only where a path can start (the start of the string, or after `=` or
// `,`) and only up to a path boundary, so `--data=/var/lib/agdr/x` maps while `/var/lib/agdrx`
// and `http://h/var/lib/agdr` do not.
import { join } from 'node:path';

/** Rewrites container paths under the given mount paths to their place under `root`. */
export function mountPathRewriter(
  root: string,
  mountPaths: readonly string[],
): (value: string) => string {
  const paths = [...new Set(mountPaths.map(normalizeMountPath))]
    .filter((p) => p !== '/')
    // Longest first, so /var/lib/agdr/keys wins over /var/lib/agdr.
    .sort((a, b) => b.length - a.length);
  if (paths.length === 0) return (value) => value;
  const alternatives = paths.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const pattern = new RegExp(`(^|[=,])(${alternatives})(?=/|$|[,:\\s])`, 'g');
  return (value) =>
    value.replace(pattern, (_match, lead: string, path: string) => lead + join(root, path));
}

/** A mount path without a trailing slash (kubelet treats `/data/` and `/data` alike). */
export function normalizeMountPath(mountPath: string): string {
  const trimmed = mountPath.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}
