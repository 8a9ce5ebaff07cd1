// From a container spec to the local process that stands in for it: the image's entrypoint
// (`node /app/dist/cli/agdr.js`) becomes this checkout's `src/cli/agdr.ts` under the running
// Node, `$(VAR)` references in command and args are expanded against the container's env, and
// mount paths in args, env values and workingDir are rewritten to the pod's root directory.
import type { V1Container } from '@kubernetes/client-node';

import { PodSpecError } from './env.ts';
import { expandKubeVars } from './expand.ts';

/** The image the runner runs; tests and the operator's `--image` use it. */
export const AGDR_TEST_IMAGE = 'agdr.dev/agdr:test';

/** The image's ENTRYPOINT and CMD (Dockerfile). */
const IMAGE_ENTRYPOINT = ['node', '/app/dist/cli/agdr.js'];
const IMAGE_CMD = ['--help'];

/**
 * The agdr CLI arguments the container would run, after `$(VAR)` expansion (kubelet's rules:
 * `command` replaces ENTRYPOINT and drops CMD, `args` replaces CMD). Throws PodSpecError when the
 * command is not the agdr entrypoint or the image is another one, since nothing else can run
 * here.
 */
export function agdrArguments(
  container: V1Container,
  env: ReadonlyMap<string, string>,
  field: string,
): string[] {
  if (container.image !== AGDR_TEST_IMAGE) {
    // A pod is the runner's when one container runs the image; any other container cannot run.
    throw new PodSpecError(
      'UNSUPPORTED_IMAGE',
      `${field}.image`,
      `the pod runner runs only ${AGDR_TEST_IMAGE}, not ${JSON.stringify(container.image)}`,
    );
  }
  const expand = (s: string): string => expandKubeVars(s, (name) => env.get(name));
  const command = (container.command ?? IMAGE_ENTRYPOINT).map(expand);
  const args = (container.args ?? (container.command ? [] : IMAGE_CMD)).map(expand);
  const argv = [...command, ...args];
  if (argv[0] === 'node' && argv[1] === IMAGE_ENTRYPOINT[1]) return argv.slice(2);
  if (argv[0] === IMAGE_ENTRYPOINT[1] || argv[0] === 'agdr') return argv.slice(1);
  throw new PodSpecError(
    'UNSUPPORTED_COMMAND',
    `${field}.command`,
    `the pod runner runs only the agdr entrypoint (${IMAGE_ENTRYPOINT.join(' ')}), not ${JSON.stringify(argv.slice(0, 2))}`,
  );
}
