// helm (built from its Go module) runs, and renders a trivial chart both offline and against the
// harness cluster, whose /version must satisfy the chart's kubeVersion constraint.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

import { kubernetesVersion } from './harness/binaries.ts';
import { clusterInfo } from './harness/context.ts';
import { Helm } from './harness/helm.ts';

function helmVersionFromGoMod(): string {
  const goMod = readFileSync(
    resolve(import.meta.dirname, '../../tools/test-bin/helm/go.mod'),
    'utf8',
  );
  const match = /^\s*helm\.sh\/helm\/v3 (v\S+)/m.exec(goMod);
  if (!match?.[1]) throw new Error('no helm.sh/helm/v3 requirement in tools/test-bin/helm/go.mod');
  return match[1];
}

describe('helm', () => {
  const info = clusterInfo();
  const chartDir = mkdtempSync(join(tmpdir(), 'agdr-helm-'));
  const h = new Helm(info.bins.helm);
  afterAll(() => {
    h.close();
    rmSync(chartDir, { recursive: true, force: true });
  });
  const helm = (args: string[]) => h.run(args);

  const chart = join(chartDir, 'tiny');
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(
    join(chart, 'Chart.yaml'),
    'apiVersion: v2\nname: tiny\nversion: 0.1.0\nkubeVersion: ">=1.30.0-0"\n',
  );
  writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\n');
  writeFileSync(
    join(chart, 'templates', 'configmap.yaml'),
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-tiny',
      'data:',
      '  greeting: {{ .Values.greeting | quote }}',
      '  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}',
      '',
    ].join('\n'),
  );

  it('reports its version', async () => {
    const { stdout } = await helm(['version', '--short']);
    expect(stdout.trim()).toMatch(
      new RegExp(`^${helmVersionFromGoMod().replace(/\./g, '\\.')}\\b`),
    );
  });

  it('renders a trivial chart offline and against the cluster', async () => {
    const offline = await helm(['template', 'demo', chart, '--set', 'greeting=hi']);
    const [doc] = parseAllDocuments(offline.stdout).map(
      (d) => d.toJS() as { metadata: { name: string }; data: Record<string, string> },
    );
    expect(doc?.metadata.name).toBe('demo-tiny');
    expect(doc?.data['greeting']).toBe('hi');

    // --validate reads the server's capabilities (its /version) instead of helm's defaults.
    const live = await helm([
      'template',
      'demo',
      chart,
      '--validate',
      '--kubeconfig',
      info.kubeconfig,
    ]);
    const [liveDoc] = parseAllDocuments(live.stdout).map(
      (d) => d.toJS() as { data: Record<string, string> },
    );
    expect(liveDoc?.data['kubeVersion']).toBe(kubernetesVersion());
  });
});
