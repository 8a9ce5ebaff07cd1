// The cluster tier runs inside a private network namespace (test/cluster/run-in-netns.sh):
// pod IPs are local addresses there, and nothing the tier opens is visible from the host.
import { readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

import { HarnessError } from './process.ts';

/** An address of the pod network that no pod gets (the top of 10.244.0.0/16). */
const PROBE_ADDRESS = '10.244.255.254';

/**
 * Fails unless this process is in its own network namespace with the pod network routed to
 * `lo` — that is, unless the tier was started with `npm run test:cluster`.
 */
export async function assertPodNetwork(): Promise<void> {
  const hint = 'run the cluster tier with `npm run test:cluster` (test/cluster/run-in-netns.sh)';
  let own: string | undefined;
  let init: string | undefined;
  try {
    own = readlinkSync('/proc/self/ns/net');
    init = readlinkSync('/proc/1/ns/net');
  } catch (err) {
    // Inside a user namespace /proc/1 may be unreadable; the bind check below still applies.
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
  }
  if (own !== undefined && own === init) {
    throw new HarnessError('NOT_ISOLATED', `the host's network namespace is in use: ${hint}`);
  }
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err) =>
      reject(
        new HarnessError(
          'NO_POD_NETWORK',
          `cannot bind ${PROBE_ADDRESS} (${err.message}): ${hint}`,
        ),
      ),
    );
    server.listen(0, PROBE_ADDRESS, () => server.close(() => resolve()));
  });
}
