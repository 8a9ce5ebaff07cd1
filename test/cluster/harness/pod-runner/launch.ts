// From a container spec to the local process that stands in for it: the image's entrypoint
// (the Dockerfile's, `node /app/dist/cli/agdr.js`) becomes this checkout's `src/cli/agdr.ts`
// under the running Node, `$(VAR)` references in command and args are expanded against the
// container's env, and mount paths in args, env values and workingDir are rewritten to the
// pod's root directory.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

import { PodSpecError } from './env.ts';
import { expandKubeVars } from './expand.ts';
import { AGDR_IMAGE } from './image.ts';

/** The image the runner runs; tests and the operator's `--image` use it. */
export const AGDR_TEST_IMAGE = 'agdr.dev/agdr:test';

/** The image's ENTRYPOINT and CMD, read from the Dockerfile. */
const IMAGE_ENTRYPOINT = AGDR_IMAGE.entrypoint;
const IMAGE_CMD = AGDR_IMAGE.cmd;
/** The script the entrypoint runs (executable on its own), and its `agdr` link on PATH. */
const IMAGE_SCRIPT = IMAGE_ENTRYPOINT[IMAGE_ENTRYPOINT.length - 1] ?? '';
const PATH_NAME = 'agdr';

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
  if (IMAGE_ENTRYPOINT.every((part, i) => argv[i] === part)) {
    return argv.slice(IMAGE_ENTRYPOINT.length);
  }
  if (argv[0] === IMAGE_SCRIPT || argv[0] === PATH_NAME) return argv.slice(1);
  throw new PodSpecError(
    'UNSUPPORTED_COMMAND',
    `${field}.command`,
    `the pod runner runs only the agdr entrypoint (${IMAGE_ENTRYPOINT.join(' ')}), not ${JSON.stringify(argv.slice(0, 2))}`,
  );
}

/**
 * kubelet's runAsNonRoot check: with runAsNonRoot set, the user the container runs as (its
 * securityContext's runAsUser, the pod's, else the image's USER) must be numeric and not 0.
 */
export function checkRunAsNonRoot(pod: V1Pod, container: V1Container, field: string): void {
  const podContext = pod.spec?.securityContext;
  const nonRoot = container.securityContext?.runAsNonRoot ?? podContext?.runAsNonRoot;
  if (nonRoot !== true) return;
  const uid = container.securityContext?.runAsUser ?? podContext?.runAsUser;
  if (uid !== undefined) {
    if (uid === 0) {
      throw new PodSpecError(
        'RUN_AS_ROOT',
        `${field}.securityContext.runAsUser`,
        "container's runAsUser breaks non-root policy",
      );
    }
    return;
  }
  const imageUser = AGDR_IMAGE.user.split(':')[0] ?? '';
  if (!/^\d+$/.test(imageUser)) {
    throw new PodSpecError(
      'RUN_AS_ROOT',
      `${field}.securityContext.runAsNonRoot`,
      `container has runAsNonRoot and image has non-numeric user (${imageUser}), cannot verify user is non-root`,
    );
  }
  if (Number(imageUser) === 0) {
    throw new PodSpecError(
      'RUN_AS_ROOT',
      `${field}.securityContext.runAsNonRoot`,
      'container has runAsNonRoot and image will run as root',
    );
  }
}
