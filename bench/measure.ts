// Measuring helpers shared by the bench suites.

/** Runs `op` in batches for about `ms` milliseconds; returns operations per second. */
export function rate(ms: number, batch: number, op: (i: number) => unknown): number {
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) op(n + i);
    n += batch;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

/** Awaits `op` back to back for about `ms` milliseconds; returns operations per second. */
export async function rateAsync(ms: number, op: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await op();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

export const round = (x: number): number => Math.round(x);

/** a / b to three decimals: figures are reported as ratios to a same-run baseline. */
export const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;
