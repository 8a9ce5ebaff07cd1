// The agdr CLI of this checkout run against a cluster's processes as a user would: submit the
// example decisions through the coordinator, prove one record, verify its bundle offline with
// the cluster's trust bundle pinned.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { HarnessError } from './process.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const AGDR = join(ROOT, 'src/cli/agdr.ts');
export const EXAMPLE_DECISIONS = join(ROOT, 'examples/decisions.ndjson');

export interface Receipt {
  readonly record_id: string;
  readonly shard_id: number;
}

/** `agdr ARGS` in `cwd` (bounded: 120 s); rejects on a non-zero exit. */
export function agdrCli(
  cwd: string,
  args: readonly string[],
): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [AGDR, ...args], { cwd, timeout: 120_000 });
}

/**
 * Submits examples/decisions.ndjson through `coordinatorUrl`, proves the first record once it is
 * sealed, and verifies the bundle offline against `trustJson` (the cluster's trust ConfigMap).
 * Returns the receipts; throws unless every decision was acknowledged and the bundle VERIFIED.
 */
export async function submitProveVerify(
  cwd: string,
  coordinatorUrl: string,
  trustJson: string,
): Promise<Receipt[]> {
  const submitted = await agdrCli(cwd, [
    'submit',
    EXAMPLE_DECISIONS,
    '--coordinator',
    coordinatorUrl,
    '--json',
  ]);
  const receipts = submitted.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Receipt);
  const expected = readFileSync(EXAMPLE_DECISIONS, 'utf8').trim().split('\n').length;
  if (receipts.length !== expected) {
    throw new HarnessError('SUBMIT_INCOMPLETE', `${receipts.length} of ${expected} acknowledged`);
  }
  const recordId = receipts[0]?.record_id ?? '';
  await agdrCli(cwd, [
    'prove',
    '--coordinator',
    coordinatorUrl,
    '--record-id',
    recordId,
    '--out',
    'bundle.json',
    '--wait',
    '30s',
  ]);
  writeFileSync(join(cwd, 'trust.json'), trustJson);
  const verified = await agdrCli(cwd, ['verify', 'bundle.json', '--trust', 'trust.json']);
  if (!/\bVERIFIED\b/.test(verified.stdout + verified.stderr)) {
    throw new HarnessError('NOT_VERIFIED', `agdr verify: ${verified.stdout}${verified.stderr}`);
  }
  return receipts;
}
