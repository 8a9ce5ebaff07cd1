// vitest global setup of the `cluster` project: checks it runs in the tier's private network
// namespace, starts one test cluster and the pod runner for the whole tier, hands the kubeconfig
// and Vault address/token to the tests, serves a small control endpoint (apiserver restart, Vault
// stop/start) and tears everything down at the end, on failure, and on SIGINT/SIGTERM. The
// binaries are built before, outside the namespace (run-in-netns.sh).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { resolve } from 'node:path';

import type { TestProject } from 'vitest/node';

import { binaryPaths } from './harness/binaries.ts';
import { CLUSTER_DIR_ENV, TestCluster } from './harness/cluster.ts';
import './harness/context.ts';
import { assertPodNetwork } from './harness/netns.ts';
import { PodRunner } from './harness/pod-runner/runner.ts';

const FAKE_NODES = 3;
/** The agdr CLI the pod runner starts in place of the image's entrypoint. */
const AGDR_CLI = resolve(import.meta.dirname, '../../src/cli/agdr.ts');

function controlServer(
  cluster: TestCluster,
  token: string,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    const actions: Record<string, () => Promise<void>> = {
      '/apiserver/restart': () => cluster.restartApiserver(),
      '/vault/stop': () => cluster.vault.stop(),
      '/vault/start': () => cluster.vault.start(),
    };
    const action = req.method === 'POST' ? actions[req.url ?? ''] : undefined;
    if (action !== undefined) {
      action().then(
        () => res.writeHead(200).end('done'),
        (err: unknown) => res.writeHead(500).end((err as Error).message),
      );
      return;
    }
    res.writeHead(404).end('not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('control server has no port'));
        return;
      }
      resolve({ server, url: `http://127.0.0.1:${address.port}` });
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await assertPodNetwork();
  const bins = binaryPaths();
  const started = Date.now();
  const cluster = await TestCluster.start({ bins, nodes: FAKE_NODES });
  console.log(
    `test cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s (${cluster.info.workDir})`,
  );
  const apiserver = new URL(cluster.info.apiserverUrl);
  const runner = await PodRunner.start({
    kubeconfig: cluster.info.kubeconfig,
    nodeNames: cluster.info.nodeNames,
    workDir: cluster.info.workDir,
    logDir: cluster.info.logDir,
    agdrScript: AGDR_CLI,
    nodeBinary: process.execPath,
    baseEnv: {
      PATH: process.env['PATH'] ?? '',
      [CLUSTER_DIR_ENV]: cluster.info.workDir,
      // kubelet points these at the `kubernetes` Service; with no kube-proxy here they name the
      // apiserver itself.
      KUBERNETES_SERVICE_HOST: apiserver.hostname,
      KUBERNETES_SERVICE_PORT: apiserver.port,
      KUBERNETES_SERVICE_PORT_HTTPS: apiserver.port,
    },
    onPidsChanged: () => cluster.pidsChanged(),
  }).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  cluster.addPidSource(() => runner.pids());

  const onSignal = (signal: NodeJS.Signals): void => {
    runner.killNow();
    cluster.killNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const onExit = (): void => {
    runner.killNow();
    cluster.killNow();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);

  const token = randomBytes(16).toString('hex');
  const control = await controlServer(cluster, token).catch(async (err: unknown) => {
    await runner.stop();
    await cluster.stop();
    throw err;
  });
  project.provide('cluster', cluster.info);
  project.provide('harnessControl', { url: control.url, token });

  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    await new Promise<void>((done) => control.server.close(() => done()));
    await runner.stop();
    await cluster.stop();
  };
}
