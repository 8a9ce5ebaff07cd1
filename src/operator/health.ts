// The operator's HTTP endpoint: /healthz (the process runs), /readyz (caches synced, or
// standing by for the Lease), /metrics (Prometheus).
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Ready to serve its role: leading with synced caches, or a standby candidate. */
  ready(): { ready: boolean; role: string };
}

export interface HealthServer {
  readonly url: string;
  close(): Promise<void>;
}

export function startHealthServer(
  host: string,
  port: number,
  source: HealthSource,
  registry: Registry,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
    switch (req.url) {
      case '/healthz':
        return send(200, { ok: true });
      case '/readyz': {
        const r = source.ready();
        return send(r.ready ? 200 : 503, r);
      }
      case '/metrics':
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: unknown) => send(500, { error: (err as Error).message }),
        );
        return;
      default:
        return send(404, { error: 'not found' });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      const p = typeof address === 'object' && address !== null ? address.port : port;
      const h = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${h}:${p}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}
