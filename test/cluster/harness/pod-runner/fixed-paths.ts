// Volumes a process reads at fixed absolute paths nobody passes it: client libraries' in-cluster
// configuration reads /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}.
// Such a process runs in a private mount namespace (util-linux `unshare`) with a tmpfs over
// /var/run that holds a link from each of those mount paths to its volume, so it finds the
// projected token and CA where a container would, and the host's /run is left alone. The
// process keeps its PID (unshare and sh exec into node).

/** Mount paths under here are made visible at their own path. */
export const FIXED_PATH_ROOT = '/var/run/';

export interface FixedPathLink {
  /** The mount path, e.g. /var/run/secrets/kubernetes.io/serviceaccount. */
  readonly path: string;
  /** The volume's directory on this machine. */
  readonly target: string;
}

const SCRIPT = [
  'set -e',
  'run=$(readlink -f /var/run)',
  'mount -t tmpfs -o mode=0755,size=1m agdr-pod-run "$run"',
  'while [ "$1" != -- ]; do mkdir -p "$(dirname "$1")"; ln -s "$2" "$1"; shift 2; done',
  'shift',
  'exec "$@"',
].join('\n');

export function needsFixedPath(mountPath: string): boolean {
  return mountPath.startsWith(FIXED_PATH_ROOT);
}

/** The command line that runs `command args` with `links` in place (unchanged when none). */
export function withFixedPaths(
  command: string,
  args: readonly string[],
  links: readonly FixedPathLink[],
): { command: string; args: string[] } {
  if (links.length === 0) return { command, args: [...args] };
  return {
    command: 'unshare',
    args: [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      SCRIPT,
      'sh',
      ...links.flatMap((l) => [l.path, l.target]),
      '--',
      command,
      ...args,
    ],
  };
}
