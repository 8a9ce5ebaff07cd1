// The coordinator as a service: its HTTP API on a port, and a round every interval.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { reasonOf } from '../core/errors.ts';
import { NO_BROWSERS } from '../http-server/browser-guard.ts';
import { DEFAULT_SERVER_LIMITS, limitedServer } from '../http-server/server-limits.ts';
import { RoundTimer } from './aggregation-timer.ts';
import { coordinatorApi } from './api.ts';
import { Coordinator } from './coordinator.ts';
import type { CoordinatorConfig } from './coordinator.ts';
import { CoordinatorError } from './errors.ts';

export interface RunningCoordinator {
  url: string;
  coordinator: Coordinator;
  /** Resolves with the error if the coordinator stops sealing (the process should exit). */
  failed: Promise<Error>;
  close(): Promise<void>;
}

/** Opens the coordinator, serves its API, and starts the interval timer. */
export async function startCoordinator(config: CoordinatorConfig): Promise<RunningCoordinator> {
  const coordinator = await Coordinator.open(config);
  const app = coordinatorApi(
    coordinator.view,
    (err) => config.logger.error({ err: reasonOf(err) }, 'request failed'),
    config.browsers ?? NO_BROWSERS,
  );
  let server: Server;
  try {
    server = await new Promise((resolve, reject) => {
      const s = limitedServer(app, DEFAULT_SERVER_LIMITS);
      s.once('error', reject);
      s.listen(config.port, config.host, () => {
        s.off('error', reject);
        resolve(s);
      });
    });
  } catch (err) {
    // Release the global log (and its lock) before reporting, e.g., a port in use.
    await coordinator.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let reportFailure: (err: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (reportFailure = resolve));
  // The round function never rejects: a failed round is counted and logged, and a fatal one
  // (the global log could not be written) is reported to the process.
  const timer = new RoundTimer(config.intervalMs, async () => {
    await coordinator.aggregate().then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof CoordinatorError && err.code === 'stopped') return;
        coordinator.metrics.rounds.inc({ result: 'failed' });
        if (coordinator.fatal !== undefined) reportFailure(coordinator.fatal);
      },
    );
  });
  timer.start();
  config.logger.info(
    { url, interval_ms: config.intervalMs, data: config.dataDir },
    'coordinator listening',
  );
  let closed: Promise<void> | undefined;
  return {
    url,
    coordinator,
    failed,
    close(): Promise<void> {
      closed ??= (async () => {
        coordinator.interrupt();
        await timer.stop();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await coordinator.close();
      })();
      return closed;
    },
  };
}
