// vitest global setup of the `cluster` project: builds missing binaries, starts one test cluster
// for the whole tier, hands its kubeconfig and Vault address/token to the tests, serves a small
// control endpoint (apiserver restart) and tears everything down at the end, on failure, and on
// SIGINT/SIGTERM.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';

import type { TestProject } from 'vitest/node';

import { binaryPaths, buildBinaries } from './harness/binaries.ts';
import { TestCluster } from './harness/cluster.ts';
import './harness/context.ts';

const FAKE_NODES = 3;

function controlServer(
  cluster: TestCluster,
  token: string,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end('unauthorized');
      return;
    }
    if (req.method === 'POST' && req.url === '/apiserver/restart') {
      cluster.restartApiserver().then(
        () => res.writeHead(200).end('restarted'),
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
  buildBinaries();
  const bins = binaryPaths();
  const started = Date.now();
  const cluster = await TestCluster.start({ bins, nodes: FAKE_NODES });
  console.log(
    `test cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s (${cluster.info.workDir})`,
  );

  const onSignal = (signal: NodeJS.Signals): void => {
    cluster.killNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const onExit = (): void => cluster.killNow();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);

  const token = randomBytes(16).toString('hex');
  const control = await controlServer(cluster, token).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  project.provide('cluster', cluster.info);
  project.provide('harnessControl', { url: control.url, token });

  return async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    await new Promise<void>((resolve) => control.server.close(() => resolve()));
    await cluster.stop();
  };
}
