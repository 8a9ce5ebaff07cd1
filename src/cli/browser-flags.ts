// The browser flags `agdr shard` and `agdr coordinator` share: which web origins and host names
// the server answers browser requests from (http-server/browser-guard.ts applies them, as a
// BrowserPolicy).
import { UsageError } from './command.ts';

/** parseArgs options of the browser flags (spread into a command's own). */
export const BROWSER_FLAG_OPTIONS = {
  'allow-origin': { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
} as const;

/** The help text of the browser flags for `server` (`shard`, `coordinator`), as a section. */
export function browserFlagsHelp(server: string): string {
  return `Browsers (the API serves services, not web pages; see docs/API.md):
  --allow-origin ORIGIN  serve browser requests from this origin (scheme://host[:port];
                         repeatable). Requests a browser makes (with an Origin or
                         Sec-Fetch-Site header) from any other origin get 403
  --allow-host NAME      a host name the ${server} is reached by (repeatable; *.example.org
                         matches subdomains). IP literals and localhost are always served.
                         Browser requests must name one of these; once any is given, every
                         request must
`;
}

/** A browser origin as browsers send it: scheme://host[:port], nothing after. */
function parseOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--allow-origin: '${text}' is not an origin (scheme://host[:port])`);
  }
  if (url.origin === 'null' || url.origin !== text)
    throw new UsageError(
      `--allow-origin: '${text}' is not an origin; did you mean '${url.origin}'?`,
    );
  return text;
}

function parseHostPattern(text: string): string {
  if (!/^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(text))
    throw new UsageError(`--allow-host: '${text}' is not a host name (or *.domain)`);
  return text.toLowerCase();
}

/** The policy the flags give (no flag: no browser request served, any Host to other clients). */
export function parseBrowserFlags(flags: { 'allow-origin'?: string[]; 'allow-host'?: string[] }): {
  allowOrigins: string[];
  allowHosts: string[];
} {
  return {
    allowOrigins: (flags['allow-origin'] ?? []).map(parseOrigin),
    allowHosts: (flags['allow-host'] ?? []).map(parseHostPattern),
  };
}
