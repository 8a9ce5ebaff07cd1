// Bearer tokens for requests to shards that authenticate their callers (docs/API.md,
// "Authentication"). A token is asked for on every request, never cached: a projected
// ServiceAccount token is rewritten in place by the kubelet well before it expires, and a
// client that kept the first one would start failing after an hour.
import { readFile } from 'node:fs/promises';
import { ClientError } from './errors.ts';

/** Gives the token to send now (without the `Bearer ` prefix). */
export type TokenSource = () => Promise<string>;

/** RFC 6750's b64token: what may follow `Bearer ` (a JWT is base64url parts joined by dots). */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Checks a token before it goes into a header: no whitespace, no line breaks, not empty. */
export function checkToken(token: string, from: string): string {
  if (!B64TOKEN.test(token))
    throw new ClientError(
      'bad_config',
      `${from}: not a bearer token (expected one line of base64url characters, like a JWT)`,
      from,
    );
  return token;
}

/** A token read from `file` on every request (surrounding whitespace and the newline dropped). */
export function tokenFile(file: string): TokenSource {
  return async () => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ClientError(
        'bad_config',
        `${file}: cannot read the token file: ${(err as Error).message}`,
        file,
        { cause: err },
      );
    }
    return checkToken(text.trim(), file);
  };
}
