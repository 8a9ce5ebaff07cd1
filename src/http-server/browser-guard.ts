// Who may talk to an AgDR server (a shard or the coordinator) from a web browser. Their APIs are
// for services, not pages: a page a user opens must not be able to plant records in a shard its
// browser can reach (CSRF), nor read a shard or the coordinator through a DNS name it rebinds
// to the server's address (DNS rebinding). Browsers mark their requests (`Origin` on every
// cross-origin request and every POST, `Sec-Fetch-Site` on every request of current browsers);
// services and command-line clients send neither. Both servers apply this one check.
import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';

export interface BrowserPolicy {
  /** Origins (`scheme://host[:port]`, exact) whose browser requests are served. */
  allowOrigins: readonly string[];
  /** Host names served besides IP literals and `localhost`; `*.example.org` matches subdomains. */
  allowHosts: readonly string[];
}

/** No browser request served, any Host served to other clients. */
export const NO_BROWSERS: BrowserPolicy = { allowOrigins: [], allowHosts: [] };

/** Why a request is refused: a 403 with this code, message and the header at fault. */
export interface BrowserRefusal {
  readonly status: 403;
  readonly code: 'origin_not_allowed' | 'host_not_allowed';
  readonly message: string;
  readonly path: 'Origin' | 'Host';
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
 * Why a request to `server` (`shard`, `coordinator`: named in the message) must be refused under
 * `policy`, or undefined when it may be served.
 * - A browser request (`Origin`, or `Sec-Fetch-Site` other than `none`) is refused unless its
 *   `Origin` is allowed and its Host is one the shard serves (an IP literal, `localhost` or an
 *   allowed host): a rebound name is never one of those.
 * - With allowed hosts configured, any request whose Host is not one of them is refused.
 */
export function browserRefusal(
  headers: IncomingHttpHeaders,
  policy: BrowserPolicy,
  server: string,
): BrowserRefusal | undefined {
  const origin = headers.origin;
  const site = headers['sec-fetch-site'];
  const browser = origin !== undefined || (site !== undefined && site !== 'none');
  const name = hostName(headers.host ?? '');
  if (browser) {
    if (origin === undefined || !policy.allowOrigins.includes(origin)) {
      return {
        status: 403,
        code: 'origin_not_allowed',
        message:
          origin === undefined
            ? `browser requests without an Origin are not served (the page would be served from this ${server}, which serves none)`
            : `requests from origin ${origin} are not allowed (see --allow-origin)`,
        path: 'Origin',
      };
    }
  }
  if ((browser || policy.allowHosts.length > 0) && !hostAllowed(name, policy.allowHosts)) {
    return {
      status: 403,
      code: 'host_not_allowed',
      message: `this ${server} does not serve the host ${JSON.stringify(name)} (see --allow-host)`,
      path: 'Host',
    };
  }
  return undefined;
}
