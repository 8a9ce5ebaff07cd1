// Flag values on the command line: durations (`500ms`, `5s`, `1m`, `1h`, or a bare number of
// seconds), positive integers, ports, log levels, http(s) URLs, shard lists.
import { ClientError } from '../../clients/errors.ts';
import { parseShardDirectory } from '../../clients/shard-endpoints.ts';
import type { ShardDirectory } from '../../clients/shard-endpoints.ts';
import { UsageError } from '../command.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in `text`; throws UsageError naming `flag` on anything else. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: '${text}' is not a duration (examples: 500ms, 5s, 1m)`);
  const ms = Number(m[1]) * (UNITS[m[2] ?? 's'] as number);
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`${flag}: must be greater than zero`);
  return Math.round(ms);
}

/** A positive integer flag value. */
export function parsePositiveInt(
  text: string,
  flag: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag}: '${text}' is not a whole number`);
  const n = Number(text);
  if (n < 1 || n > max) throw new UsageError(`${flag}: must be between 1 and ${max}`);
  return n;
}

/** An http(s) URL flag value. */
export function parseHttpUrl(text: string, flag: string): string {
  if (!/^https?:$/.test(URL.parse(text)?.protocol ?? ''))
    throw new UsageError(`${flag}: '${text}' is not an http(s) URL`);
  return text;
}

/** A TCP port flag value (0 picks a free port). */
export function parsePort(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535)
    throw new UsageError(`${flag}: '${text}' is not a port number (0 to 65535)`);
  return Number(text);
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A pino log level flag value. */
export function parseLogLevel(text: string, flag = '--log-level'): string {
  if (!LOG_LEVELS.includes(text))
    throw new UsageError(`${flag}: '${text}' is not one of ${LOG_LEVELS.join(', ')}`);
  return text;
}

/** The values of flags that have no default and must be given. */
export function required<const N extends string>(
  flags: Partial<Record<N, string | boolean | (string | boolean)[] | undefined>>,
  ...names: N[]
): Record<N, string> {
  for (const name of names) {
    if (typeof flags[name] !== 'string') throw new UsageError(`--${name} is required`);
  }
  return flags as Record<N, string>;
}

/** A `--shards` list or URL template. */
export function shardsFlag(spec: string, flag = '--shards'): ShardDirectory {
  try {
    return parseShardDirectory(spec);
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    throw new UsageError(`${err.path ?? flag}: ${err.message}`);
  }
}
