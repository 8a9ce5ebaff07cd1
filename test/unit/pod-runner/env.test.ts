// A container's environment and command line as the pod runner builds them.
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

import { PodSpecError, containerEnv } from '../../cluster/harness/pod-runner/env.ts';
import { AGDR_TEST_IMAGE, agdrArguments } from '../../cluster/harness/pod-runner/launch.ts';

const pod: V1Pod = {
  metadata: {
    name: 'shard-2',
    namespace: 'prod',
    uid: 'u-1',
    labels: { 'apps.kubernetes.io/pod-index': '2', app: 'shard' },
    annotations: { note: 'a "quoted" one' },
  },
  spec: { nodeName: 'kwok-node-1', serviceAccountName: 'agdr-shard', containers: [] },
  status: { podIP: '10.244.0.9', hostIP: '10.0.0.1' },
};

const objects = {
  configMap: (name: string) => (name === 'cm' ? { mode: 'fast', level: 'info' } : undefined),
  secret: (name: string) => (name === 'sec' ? { token: 't0k' } : undefined),
};

function env(container: Partial<V1Container>): Record<string, string> {
  return Object.fromEntries(containerEnv(pod, { name: 'c', ...container }, 0, objects));
}

describe('containerEnv', () => {
  it('resolves downward API fields, ConfigMap and Secret keys and $(VAR) in order', () => {
    expect(
      env({
        envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
        env: [
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          {
            name: 'SHARD',
            valueFrom: {
              fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" },
            },
          },
          { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'LISTEN', value: '$(POD_IP):7071' },
          // Only variables defined before count.
          { name: 'EARLY', value: '$(LATE)' },
          { name: 'LATE', value: 'x' },
          { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'sec', key: 'token' } } },
          { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cm', key: 'mode' } } },
          { name: 'ANN', valueFrom: { fieldRef: { fieldPath: 'metadata.annotations' } } },
          { name: 'GONE', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } },
        ],
      }),
    ).toEqual({
      CM_mode: 'fast',
      CM_level: 'info',
      POD_IP: '10.244.0.9',
      SHARD: '2',
      NS: 'prod',
      SA: 'agdr-shard',
      NODE: 'kwok-node-1',
      LISTEN: '10.244.0.9:7071',
      EARLY: '$(LATE)',
      LATE: 'x',
      TOKEN: 't0k',
      MODE: 'fast',
      ANN: 'note="a \\"quoted\\" one"',
    });
  });

  it('names the field of a missing object or key', () => {
    const missing = (c: Partial<V1Container>): PodSpecError => {
      try {
        env(c);
      } catch (err) {
        return err as PodSpecError;
      }
      throw new Error('no error');
    };
    expect(
      missing({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }),
    ).toMatchObject({
      code: 'MISSING_OBJECT',
      field: 'spec.containers[0].env[0].valueFrom',
      message: expect.stringContaining('secret "nope" not found'),
    });
    expect(
      missing({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }] }),
    ).toMatchObject({
      code: 'MISSING_OBJECT',
      message: expect.stringContaining('key "k" not found in configmap "cm"'),
    });
    expect(
      missing({
        env: [{ name: 'A', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } }],
      }),
    ).toMatchObject({ code: 'UNSUPPORTED_ENV' });
    expect(
      missing({ env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.x' } } }] }),
    ).toMatchObject({
      code: 'UNSUPPORTED_FIELD',
      field: 'spec.containers[0].env[0].valueFrom.fieldRef',
    });
  });
});

describe('agdrArguments', () => {
  const vars = new Map([['POD_IP', '10.244.0.9']]);
  const args = (c: Partial<V1Container>): string[] =>
    agdrArguments({ name: 'c', image: AGDR_TEST_IMAGE, ...c }, vars, 'spec.containers[0]');

  it('follows kubelet: command replaces ENTRYPOINT and drops CMD, args replace CMD', () => {
    expect(args({})).toEqual(['--help']);
    expect(args({ args: ['shard', '--host', '$(POD_IP)'] })).toEqual([
      'shard',
      '--host',
      '10.244.0.9',
    ]);
    expect(args({ command: ['node', '/app/dist/cli/agdr.js', 'shard'] })).toEqual(['shard']);
    expect(args({ command: ['agdr'], args: ['coordinator'] })).toEqual(['coordinator']);
    expect(args({ command: ['/app/dist/cli/agdr.js', 'verify'] })).toEqual(['verify']);
  });

  it('refuses a container of another image', () => {
    expect(() => args({ image: 'busybox:1.36' })).toThrow(
      /spec\.containers\[0\]\.image: the pod runner runs only agdr\.dev\/agdr:test, not "busybox:1\.36"/,
    );
  });

  it('refuses any other command', () => {
    expect(() => args({ command: ['sh', '-c', 'agdr shard'] })).toThrow(
      /spec\.containers\[0\]\.command: the pod runner runs only the agdr entrypoint/,
    );
  });
});
