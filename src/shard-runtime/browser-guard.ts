// Who may talk to a shard from a web browser. The shard's API is for services, not pages: a
// page a user opens must not be able to plant records in a shard its browser can reach (CSRF),
// nor read one through a DNS name it rebinds to the shard's address (DNS rebinding). Browsers
// mark their requests (`Origin` on every cross-origin request and every POST, `Sec-Fetch-Site`
// on every request of current browsers); services and command-line clients send neither.
import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import { ShardApiError } from './errors.ts';

export interface BrowserPolicy {
  /** Origins (`scheme://host[:port]`, exact) whose browser requests are served. */
  allowOrigins: readonly string[];
  /** Host names served besides IP literals and `localhost`; `*.example.org` matches subdomains. */
  allowHosts: readonly string[];
}

/** The host name of a Host header value, without port or IPv6 brackets, lower case. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

function hostAllowed(name: string, allow: readonly string[]): boolean {
  if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
  return allow.some((a) => {
    const p = a.toLowerCase();
    return p.startsWith('*.') ? name.endsWith(p.slice(1)) : name === p;
  });
}

/**
 * Why a request must be refused under `policy`, or undefined when it may be served.
 * - A browser request (`Origin`, or `Sec-Fetch-Site` other than `none`) is refused unless its
 *   `Origin` is allowed and its Host is one the shard serves (an IP literal, `localhost` or an
 *   allowed host): a rebound name is never one of those.
 * - With allowed hosts configured, any request whose Host is not one of them is refused.
 */
export function browserRefusal(
  headers: IncomingHttpHeaders,
  policy: BrowserPolicy,
): ShardApiError | undefined {
  const origin = headers.origin;
  const site = headers['sec-fetch-site'];
  const browser = origin !== undefined || (site !== undefined && site !== 'none');
  const name = hostName(headers.host ?? '');
  if (browser) {
    if (origin === undefined || !policy.allowOrigins.includes(origin)) {
      return new ShardApiError(
        403,
        'origin_not_allowed',
        origin === undefined
          ? 'browser requests without an Origin are not served (the page would be served from this shard, which serves none)'
          : `requests from origin ${origin} are not allowed (see --allow-origin)`,
        'Origin',
      );
    }
  }
  if ((browser || policy.allowHosts.length > 0) && !hostAllowed(name, policy.allowHosts)) {
    return new ShardApiError(
      403,
      'host_not_allowed',
      `this shard does not serve the host ${JSON.stringify(name)} (see --allow-host)`,
      'Host',
    );
  }
  return undefined;
}
