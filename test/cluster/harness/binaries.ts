// Locates the cluster tier's binaries, building the missing ones with tools/test-bin/build.sh
// (cached under ~/.cache/agdr-test-bin, so a warm run builds nothing).
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { BinaryPaths } from './cluster.ts';
import { HarnessError } from './process.ts';

const BUILD_SCRIPT = resolve(import.meta.dirname, '../../../tools/test-bin/build.sh');

export function buildBinaries(): void {
  const result = spawnSync('bash', [BUILD_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    throw new HarnessError(
      'BUILD_FAILED',
      `${BUILD_SCRIPT} exited with ${result.status ?? result.signal}`,
    );
  }
}

export function binaryPaths(): BinaryPaths {
  const dirs = new Map<string, string>();
  const out = execFileSync('bash', [BUILD_SCRIPT, '--print-dir'], { encoding: 'utf8' });
  for (const line of out.trim().split('\n')) {
    const eq = line.indexOf('=');
    dirs.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const bin = (component: string, name: string): string => {
    const dir = dirs.get(component);
    if (dir === undefined) throw new HarnessError('NO_COMPONENT', `build.sh lists no ${component}`);
    const path = join(dir, name);
    accessSync(path, constants.X_OK);
    return path;
  };
  return {
    etcd: bin('etcd', 'etcd'),
    kubeApiserver: bin('kubernetes', 'kube-apiserver'),
    kubeControllerManager: bin('kubernetes', 'kube-controller-manager'),
    kubeScheduler: bin('kubernetes', 'kube-scheduler'),
    kubectl: bin('kubernetes', 'kubectl'),
    kwok: bin('kwok', 'kwok'),
    vault: bin('vault', 'vault'),
    helm: bin('helm', 'helm'),
  };
}

/** The Kubernetes release the wrapper module requires (tools/test-bin/kubernetes/go.mod). */
export function kubernetesVersion(): string {
  const goMod = readFileSync(
    resolve(import.meta.dirname, '../../../tools/test-bin/kubernetes/go.mod'),
    'utf8',
  );
  const match = /^\s*k8s\.io\/kubernetes (v\S+)/m.exec(goMod);
  if (!match?.[1])
    throw new HarnessError('NO_VERSION', 'no k8s.io/kubernetes requirement in the wrapper go.mod');
  return match[1];
}
