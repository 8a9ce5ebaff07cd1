// The agdr image's ENTRYPOINT, CMD and USER come from the Dockerfile, and the pod runner starts
// what they say; kubelet's runAsNonRoot check against them.
import { readFileSync } from 'node:fs';

import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

import { RUN_AS_USER } from '../../../src/operator/specs/pod.ts';
import { withFixedPaths } from '../../cluster/harness/pod-runner/fixed-paths.ts';
import {
  AGDR_IMAGE,
  DOCKERFILE,
  parseImageConfig,
} from '../../cluster/harness/pod-runner/image.ts';
import {
  AGDR_TEST_IMAGE,
  agdrArguments,
  checkRunAsNonRoot,
} from '../../cluster/harness/pod-runner/launch.ts';

describe('the Dockerfile as the pod runner reads it', () => {
  it('runs node on the built CLI as the numeric user the operator sets in its pods', () => {
    expect(AGDR_IMAGE).toEqual({
      entrypoint: ['node', '/app/dist/cli/agdr.js'],
      cmd: ['--help'],
      user: `${RUN_AS_USER}:${RUN_AS_USER}`,
    });
    // `agdr` on PATH is the same script (the runner accepts command: [agdr]).
    expect(readFileSync(DOCKERFILE, 'utf8')).toContain(
      'RUN ln -s /app/dist/cli/agdr.js /usr/local/bin/agdr',
    );
  });

  it('maps the image entrypoint, its script and `agdr` to the same arguments', () => {
    const run = (c: Partial<V1Container>): string[] =>
      agdrArguments({ name: 'c', image: AGDR_TEST_IMAGE, ...c }, new Map(), 'spec.containers[0]');
    expect(run({})).toEqual([...AGDR_IMAGE.cmd]);
    expect(run({ args: ['operator'] })).toEqual(['operator']);
    expect(run({ command: [...AGDR_IMAGE.entrypoint, 'shard'] })).toEqual(['shard']);
    expect(run({ command: ['/app/dist/cli/agdr.js'], args: ['verify'] })).toEqual(['verify']);
    expect(run({ command: ['agdr', 'prove'] })).toEqual(['prove']);
  });

  it('reads the final stage only, joins continuation lines, and refuses what it cannot run', () => {
    const twoStages = [
      'FROM a AS build',
      'ENTRYPOINT ["build"]',
      'USER 0',
      'FROM b',
      '# a comment',
      'RUN echo \\',
      '    done',
      'USER 10001:10001',
      'ENTRYPOINT ["/bin/app", \\',
      '  "serve"]',
    ].join('\n');
    expect(parseImageConfig(twoStages)).toEqual({
      entrypoint: ['/bin/app', 'serve'],
      cmd: [],
      user: '10001:10001',
    });
    expect(() => parseImageConfig('FROM b\nUSER 1\nENTRYPOINT node app.js\n')).toThrow(
      /ENTRYPOINT must be in exec form/,
    );
    expect(() => parseImageConfig('FROM b\nENTRYPOINT ["x"]\n')).toThrow(/no USER/);
    expect(() => parseImageConfig('ENTRYPOINT ["x"]\n')).toThrow(/no FROM/);
  });
});

describe('checkRunAsNonRoot (kubelet)', () => {
  const pod = (podContext: Omit<NonNullable<V1Pod['spec']>, 'containers'>): V1Pod => ({
    spec: { containers: [], ...podContext },
  });
  const container = (sc?: V1Container['securityContext']): V1Container => ({
    name: 'c',
    ...(sc !== undefined ? { securityContext: sc } : {}),
  });

  it('accepts the image user (numeric, not 0) and an explicit non-zero runAsUser', () => {
    expect(() =>
      checkRunAsNonRoot(pod({ securityContext: { runAsNonRoot: true } }), container(), 'f'),
    ).not.toThrow();
    expect(() =>
      checkRunAsNonRoot(pod({}), container({ runAsNonRoot: true, runAsUser: 5 }), 'f'),
    ).not.toThrow();
    expect(() => checkRunAsNonRoot(pod({}), container({ runAsUser: 0 }), 'f')).not.toThrow();
  });

  it('refuses runAsUser 0 under runAsNonRoot, naming the field', () => {
    expect(() =>
      checkRunAsNonRoot(
        pod({ securityContext: { runAsNonRoot: true, runAsUser: 0 } }),
        container(),
        'spec.containers[0]',
      ),
    ).toThrow(
      /spec\.containers\[0\]\.securityContext\.runAsUser: container's runAsUser breaks non-root policy/,
    );
  });
});

describe('withFixedPaths', () => {
  it('leaves a command alone without links, else runs it in a private mount namespace', () => {
    expect(withFixedPaths('node', ['a.ts', 'x'], [])).toEqual({
      command: 'node',
      args: ['a.ts', 'x'],
    });
    const { command, args } = withFixedPaths(
      'node',
      ['a.ts', 'x'],
      [{ path: '/var/run/secrets/kubernetes.io/serviceaccount', target: '/w/volumes/sa' }],
    );
    expect(command).toBe('unshare');
    expect(args.slice(0, 5)).toEqual(['--mount', '--propagation', 'private', '--', '/bin/sh']);
    expect(args.slice(-6)).toEqual([
      '/var/run/secrets/kubernetes.io/serviceaccount',
      '/w/volumes/sa',
      '--',
      'node',
      'a.ts',
      'x',
    ]);
  });
});
