// A CustomResourceDefinition is served: custom resources can be created and listed, and the
// status and scale subresources behave as the apiserver documents.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { clusterKubectl } from './harness/context.ts';

const GROUP = 'harness.agdr.test';

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${GROUP}` },
  spec: {
    group: GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: {
                  replicas: { type: 'integer', minimum: 0 },
                  color: { type: 'string' },
                },
              },
              status: {
                type: 'object',
                properties: {
                  replicas: { type: 'integer' },
                  phase: { type: 'string' },
                  selector: { type: 'string' },
                },
              },
            },
          },
        },
        subresources: {
          status: {},
          scale: {
            specReplicasPath: '.spec.replicas',
            statusReplicasPath: '.status.replicas',
            labelSelectorPath: '.status.selector',
          },
        },
      },
    ],
  },
};

interface Widget {
  spec: { replicas: number; color: string };
  status?: { replicas?: number; phase?: string; selector?: string };
}

describe('CustomResourceDefinition', () => {
  it('serves custom resources with status and scale subresources', async () => {
    const k = clusterKubectl();
    await k.apply(stringify(crd));
    await k.run(
      ['wait', '--for=condition=Established', `crd/widgets.${GROUP}`, '--timeout=60s'],
      undefined,
      90_000,
    );
    const ns = await k.createNamespace('crd');
    const widget = (extra: object = {}): string =>
      stringify({
        apiVersion: `${GROUP}/v1`,
        kind: 'Widget',
        metadata: { name: 'w1', namespace: ns },
        spec: { replicas: 1, color: 'blue' },
        ...extra,
      });

    // Discovery can lag a moment behind Established; kubectl re-reads it on a miss.
    await k.waitFor(
      'widget created',
      async () => ((await k.apply(widget())).includes('w1') ? null : 'no'),
      30_000,
    );
    expect(await k.run(['get', 'widgets', '-n', ns, '-o', 'name'])).toBe(`widget.${GROUP}/w1\n`);

    // Status sent through the main resource is dropped when the status subresource is on.
    await k.apply(widget({ status: { replicas: 7, phase: 'Bogus' } }));
    expect((await k.getJson<Widget>(['widget/w1', '-n', ns])).status).toBeUndefined();

    await k.run([
      'patch',
      'widget/w1',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { replicas: 2, phase: 'Ready', selector: 'app=w1' } }),
    ]);
    const patched = await k.getJson<Widget>(['widget/w1', '-n', ns]);
    expect(patched.status).toEqual({ replicas: 2, phase: 'Ready', selector: 'app=w1' });
    expect(patched.spec.replicas).toBe(1);

    await k.run(['scale', 'widget/w1', '-n', ns, '--replicas=5']);
    expect((await k.getJson<Widget>(['widget/w1', '-n', ns])).spec.replicas).toBe(5);
    const scale = JSON.parse(
      await k.run(['get', '--raw', `/apis/${GROUP}/v1/namespaces/${ns}/widgets/w1/scale`]),
    ) as {
      kind: string;
      spec: { replicas: number };
      status: { replicas: number; selector: string };
    };
    expect(scale.kind).toBe('Scale');
    expect(scale.spec.replicas).toBe(5);
    expect(scale.status).toEqual({ replicas: 2, selector: 'app=w1' });
  });
});
