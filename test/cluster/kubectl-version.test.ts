// The harness runs the Kubernetes release the wrapper module pins, and /version says so
// (helm's kubeVersion checks read it).
import { describe, expect, it } from 'vitest';

import { kubernetesVersion } from './harness/binaries.ts';
import { clusterKubectl } from './harness/context.ts';

interface VersionInfo {
  gitVersion: string;
  major: string;
  minor: string;
  gitTreeState: string;
}

describe('kubectl version', () => {
  it('reports the built server and client version', async () => {
    const expected = kubernetesVersion();
    const [major, minor] = expected.slice(1).split('.');
    const out = JSON.parse(await clusterKubectl().run(['version', '-o', 'json'])) as {
      clientVersion: VersionInfo;
      serverVersion: VersionInfo;
    };
    expect(out.serverVersion.gitVersion).toBe(expected);
    expect(out.serverVersion.major).toBe(major);
    expect(out.serverVersion.minor).toBe(minor);
    expect(out.serverVersion.gitTreeState).toBe('clean');
    expect(out.clientVersion.gitVersion).toBe(expected);
  });
});
