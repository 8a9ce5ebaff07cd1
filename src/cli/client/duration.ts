// Flag values on the command line: durations (`500ms`, `5s`, `1m`, `1h`, or a bare number of
// seconds), positive integers, http(s) URLs.
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
