// Retry delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff
// And Jitter"), so that clients cut off by the same outage do not come back in lockstep.

export interface BackoffPolicy {
  /** The first delay's upper bound. */
  baseMs: number;
  /** No delay is longer than this. */
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): uniform in
 * [0, min(maxMs, baseMs * 2^(attempt-1))], never below `atLeastMs` (a server's Retry-After).
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number,
  atLeastMs = 0,
): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.max(atLeastMs, Math.floor(random() * cap));
}

/** A Retry-After header in milliseconds (seconds form only; a date is ignored), or 0. */
export function retryAfterMs(header: string | string[] | undefined): number {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,6}$/.test(text.trim())) return 0;
  return Number(text.trim()) * 1000;
}
