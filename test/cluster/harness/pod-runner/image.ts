// The agdr image's ENTRYPOINT, CMD and USER, read from the Dockerfile's final stage: the one
// source of truth for what a container of the image runs, so the pod runner starts exactly that.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DOCKERFILE = fileURLToPath(new URL('../../../../Dockerfile', import.meta.url));

export interface ImageConfig {
  /** ENTRYPOINT in exec form, e.g. ["node", "/app/dist/cli/agdr.js"]. */
  readonly entrypoint: readonly string[];
  /** CMD in exec form. */
  readonly cmd: readonly string[];
  /** USER as written (uid[:gid]). */
  readonly user: string;
}

export class DockerfileError extends Error {
  override name = 'DockerfileError';
}

/** Instructions of a Dockerfile: continuation lines joined, comments and blank lines dropped. */
function instructions(text: string): { keyword: string; rest: string }[] {
  const out: { keyword: string; rest: string }[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = pending + line;
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(whole);
    if (m) out.push({ keyword: (m[1] ?? '').toUpperCase(), rest: m[2] ?? '' });
  }
  return out;
}

function execForm(keyword: string, rest: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) {
    // Shell form would run under /bin/sh -c, which nothing here reproduces.
    throw new DockerfileError(`${keyword} must be in exec form (a JSON array), not: ${rest}`);
  }
  return parsed as string[];
}

/** ENTRYPOINT, CMD and USER of the final stage (the last FROM). */
export function parseImageConfig(dockerfile: string): ImageConfig {
  const all = instructions(dockerfile);
  const lastFrom = all.map((i) => i.keyword).lastIndexOf('FROM');
  if (lastFrom < 0) throw new DockerfileError('no FROM instruction');
  let entrypoint: string[] | undefined;
  let cmd: string[] = [];
  let user: string | undefined;
  for (const { keyword, rest } of all.slice(lastFrom + 1)) {
    if (keyword === 'ENTRYPOINT') entrypoint = execForm(keyword, rest);
    else if (keyword === 'CMD') cmd = execForm(keyword, rest);
    else if (keyword === 'USER') user = rest.trim();
  }
  if (entrypoint === undefined) throw new DockerfileError('the final stage has no ENTRYPOINT');
  if (user === undefined)
    throw new DockerfileError('the final stage has no USER (it would run as root)');
  return { entrypoint, cmd, user };
}

/** The agdr image's configuration, from this checkout's Dockerfile. */
export const AGDR_IMAGE = parseImageConfig(readFileSync(DOCKERFILE, 'utf8'));
