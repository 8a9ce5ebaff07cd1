// One container probe (startup, readiness or liveness) as kubelet runs it: httpGet (2xx/3xx is
// success) or tcpSocket against the pod IP, every periodSeconds after initialDelaySeconds, with
// timeoutSeconds per attempt; the result flips after successThreshold / failureThreshold
// consecutive outcomes.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';

import { PodSpecError } from './env.ts';

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

export interface ProbeOutcome {
  readonly ok: boolean;
  readonly message: string;
}

/** One attempt of the probe against `podIP`; never throws for an unreachable target. */
export type ProbeAttempt = () => Promise<ProbeOutcome>;

/** Builds the attempt function, or throws PodSpecError for a probe the runner cannot run. */
export function probeAttempt(
  probe: V1Probe,
  podIP: string,
  ports: readonly V1ContainerPort[],
  field: string,
): ProbeAttempt {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const portOf = (port: number | string): number => {
    if (typeof port === 'number') return port;
    if (/^\d+$/.test(port)) return Number(port);
    const named = ports.find((p) => p.name === port);
    if (!named) throw new PodSpecError('BAD_PROBE', field, `no container port named "${port}"`);
    return named.containerPort;
  };
  if (probe.httpGet) {
    const get = probe.httpGet;
    const scheme = (get.scheme ?? 'HTTP').toLowerCase();
    const host = get.host ?? podIP;
    const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${portOf(get.port)}${get.path ?? '/'}`;
    const headers = Object.fromEntries((get.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return () => httpProbe(url, headers, timeoutMs);
  }
  if (probe.tcpSocket) {
    const port = portOf(probe.tcpSocket.port);
    const host = probe.tcpSocket.host ?? podIP;
    return () => tcpProbe(host, port, timeoutMs);
  }
  throw new PodSpecError(
    'UNSUPPORTED_PROBE',
    field,
    'the pod runner runs httpGet and tcpSocket probes only',
  );
}

function httpProbe(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      u,
      {
        method: 'GET',
        headers: { 'user-agent': 'kube-probe/1.34', ...headers },
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve({
          ok: status >= 200 && status < 400,
          message: `HTTP probe failed with statuscode: ${status}`,
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, message: `Get "${url}": ${err.message}` }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: '' });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once('error', (err) =>
      resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }),
    );
  });
}

/** Periodic runner of one probe; reports each change of the thresholded result. */
export class ProbeLoop {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private result: boolean | undefined;

  readonly probe: V1Probe;
  private readonly attempt: ProbeAttempt;
  private readonly onResult: (ok: boolean, message: string) => void;

  constructor(
    probe: V1Probe,
    attempt: ProbeAttempt,
    onResult: (ok: boolean, message: string) => void,
  ) {
    this.probe = probe;
    this.attempt = attempt;
    this.onResult = onResult;
  }

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const outcome = await this.attempt();
    if (this.stopped) return;
    if (outcome.ok) {
      this.successes += 1;
      this.failures = 0;
      if (this.result !== true && this.successes >= (this.probe.successThreshold ?? 1)) {
        this.result = true;
        this.onResult(true, '');
      }
    } else {
      this.failures += 1;
      this.successes = 0;
      if (this.result !== false && this.failures >= (this.probe.failureThreshold ?? 3)) {
        this.result = false;
        this.onResult(false, outcome.message);
      }
    }
    this.schedule((this.probe.periodSeconds ?? 10) * 1000);
  }
}
