// `agdr verify`: check an evidence bundle offline, or fsck a log directory.
import fs from 'node:fs';
import path from 'node:path';
import { defineCommand, UsageError } from './command.ts';
import { verifyBundle, type BundleReport, type TrustAnchor } from '../core/bundle.ts';
import {
  checkKeyHistory,
  firstKeyAnchor,
  followKeyHistory,
  KeyHistoryError,
} from '../core/key-history.ts';
import { validateTrustBundle } from '../clients/trust.ts';
import type { TrustBundle } from '../clients/trust.ts';
import { reasonOf } from '../core/errors.ts';
import { fsckLog } from './client/fsck.ts';
import { ProgressBar } from './client/progress.ts';

const help = `agdr verify — check an evidence bundle offline, or a whole log directory

Usage: agdr verify BUNDLE.json [--trust FILE] [--json]
       agdr verify BUNDLE.json --key-history FILE... (--trust-key KEY... | --trust FILE) [--json]
       agdr verify --log DIR [--trust FILE] [--json]

An evidence bundle (from 'agdr prove') is checked with no network access: the record's
envelope and leaf hash, its inclusion proof to the signed shard checkpoint, the checkpoint
signature, the shard's consistency proof to the sealed checkpoint (when there is one), the
shard entry's inclusion in the Root Merkle Tree, the global root record's signature, the
global log inclusion, and the routing recomputation that puts the record on its shard.

With --trust (a trust bundle, e.g. saved from the coordinator's GET /v1/keys) every key in
the bundle must be pinned there, bound to the log it signs for (its origin, and for a shard
key its shard_id), and every signature must fall in its key's validity window
[valid_from_ns, valid_until_ns) by the signed timestamp_ns. Only then is the bundle VERIFIED.

With --key-history (a key history: the signed key transitions a shard or the coordinator
serves at GET /v1/key-history; give one file per log, or one listing several) the keys that
signed need not be listed anywhere: starting from trusted first keys (--trust-key, the C2SP
verifier key of a log's first key version, or the entries of --trust), each transition must be
signed by the key before it and by its successor, and gives the successor its validity window.
A rotated and trimmed key version verifies this way; a forged, reordered, incomplete or
back-dated history fails the check 'key_history'.

Without --trust, --trust-key or --key-history the bundle's own keys are used: that shows the bundle is internally
consistent, and nothing about who signed it (a forger who replaced every key gets the same
answer). The report then ends CONSISTENT (KEYS NOT PINNED), never VERIFIED, and the exit
status is 3.

--log DIR checks a log data directory (a shard's, or the coordinator's global log) in full:
every record re-hashed, every tree node recomputed, every checkpoint root compared, every
envelope decoded, and (with --trust) every checkpoint signature verified. The check is
read-only: it changes nothing in the directory and needs no write access to it (it holds the
directory's LOCK while it runs where it may write one), so an archived copy on read-only
media can be checked in place. What a shard start would repair after a crash (a torn,
unacknowledged tail; stale derived tree nodes past the durable marker) is reported and left in
place. The process that owns the directory must be stopped.

Options:
  --trust FILE   trust bundle JSON ({"version": 1, "keys": [...]}) to verify signatures with
  --trust-key KEY
                 a log's first key (C2SP verifier key), trusted from time 0; repeatable
  --key-history FILE
                 a key history ({"format": "agdr-key-history/v1", ...}) to follow from the
                 trusted keys; repeatable (bundles only)
  --log DIR      check a log directory instead of a bundle
  --json         print the report as JSON
  -h, --help     this text

Exit status: 0 verified (bundle: every check passed with pinned keys; --log: every check
passed); 1 verification failed (the report names the failing check); 2 bad usage or
unreadable input; 3 a bundle is consistent under its own keys but no --trust pinned them.
`;

/** Exit status of a bundle that is consistent under its own, unpinned keys. */
const UNPINNED_EXIT = 3;

function readTrust(file: string): TrustBundle {
  try {
    return validateTrustBundle(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (err) {
    throw new UsageError(`--trust ${file}: ${reasonOf(err)}`);
  }
}

function readKeyHistory(file: string): string[] {
  try {
    return checkKeyHistory(JSON.parse(fs.readFileSync(file, 'utf8'))).transitions;
  } catch (err) {
    throw new UsageError(`--key-history ${file}: ${reasonOf(err)}`);
  }
}

function readFirstKey(key: string): TrustAnchor {
  try {
    return firstKeyAnchor(key);
  } catch (err) {
    throw new UsageError(`--trust-key ${key}: ${reasonOf(err)}`);
  }
}

const options = {
  trust: { type: 'string' },
  'trust-key': { type: 'string', multiple: true },
  'key-history': { type: 'string', multiple: true },
  log: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export type VerifyConfig = {
  /** The trust bundle file to verify signatures with, if any. */
  trustFile: string | undefined;
  /** First keys of logs (C2SP verifier keys), trusted from time 0. */
  trustKeys: string[];
  /** Key history files to follow from the trusted keys. */
  keyHistories: string[];
  json: boolean;
} & ({ log: string; bundle?: undefined } | { bundle: string; log?: undefined });

export const command = defineCommand({
  name: 'verify',
  summary: 'check an evidence bundle offline, or a log directory',
  help,
  options,
  positionals: true,
  configure(values, positionals): VerifyConfig {
    if (values.log === undefined && positionals.length !== 1)
      throw new UsageError('give one BUNDLE file, or --log DIR');
    if (values.log !== undefined && positionals.length > 0)
      throw new UsageError('give either BUNDLE or --log DIR, not both');
    const common = {
      trustFile: values.trust,
      trustKeys: values['trust-key'] ?? [],
      keyHistories: values['key-history'] ?? [],
      json: values.json,
    };
    if (values.log !== undefined && (common.trustKeys.length > 0 || common.keyHistories.length > 0))
      throw new UsageError('--trust-key and --key-history check a bundle; --log takes --trust');
    if (common.keyHistories.length > 0 && common.trustKeys.length === 0 && !values.trust)
      throw new UsageError(
        '--key-history is followed from trusted first keys: give --trust-key KEY or --trust FILE',
      );
    return values.log !== undefined
      ? { ...common, log: path.resolve(values.log) }
      : { ...common, bundle: positionals[0] as string };
  },
  async run(config) {
    const trust = config.trustFile === undefined ? undefined : readTrust(config.trustFile);
    if (config.log !== undefined) return verifyLog(config.log, trust, config.json);
    const anchors = [...(trust?.keys ?? []), ...config.trustKeys.map(readFirstKey)];
    const history = config.keyHistories.flatMap(readKeyHistory);
    const pinnedBy = [
      ...(config.trustFile !== undefined ? [`--trust ${config.trustFile}`] : []),
      ...(config.trustKeys.length > 0 ? [`${config.trustKeys.length} --trust-key`] : []),
      ...(config.keyHistories.length > 0
        ? [`the key history (${history.length} transitions)`]
        : []),
    ].join(' and ');
    return verifyBundleFile(config.bundle, {
      anchors: pinnedBy === '' ? undefined : anchors,
      history: config.keyHistories.length > 0 ? history : undefined,
      pinnedBy,
      json: config.json,
    });
  },
});

async function verifyLog(
  given: string,
  trust: TrustBundle | undefined,
  json: boolean,
): Promise<number> {
  // A shard's or coordinator's data directory holds its log in log/.
  const dir = fs.existsSync(path.join(given, 'meta.json')) ? given : path.join(given, 'log');
  if (!fs.existsSync(path.join(dir, 'meta.json'))) {
    process.stderr.write(
      `agdr verify: ${given} is not a log directory (no meta.json in it or in log/)\n`,
    );
    return 2;
  }
  let report;
  try {
    report = await fsckLog(dir, trust, new ProgressBar());
  } catch (err) {
    const e = err as { code?: string };
    if (json)
      process.stdout.write(
        JSON.stringify({ ok: false, dir, error: reasonOf(err), code: e.code }) + '\n',
      );
    process.stderr.write(`agdr verify: FAILED: ${dir}: ${reasonOf(err)}\n`);
    return e.code === 'locked' || e.code === 'not_found' ? 2 : 1;
  }
  if (json) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    const out = [
      `log ${dir} (${report.kind})`,
      `  size ${report.size}, root ${report.root}`,
      `  records re-hashed: ${report.checkedRecords}; checkpoints: ${report.checkpoints}` +
        (trust
          ? `, signatures verified: ${report.signaturesChecked}`
          : ' (signatures not checked: no --trust)'),
    ];
    // Left in place by the read-only check; the log's owner repairs them when it next starts.
    const owner = report.kind === 'global' ? 'coordinator' : 'shard';
    if (report.tornTailRecords > 0)
      out.push(
        `  torn tail: ${report.tornTailRecords} unacknowledged record(s) past the durable size` +
          ` (left in place; the ${owner} drops them on its next start)`,
      );
    if (report.staleTileNodes > 0)
      out.push(
        `  stale tree nodes: ${report.staleTileNodes} derived tile node(s) past the durable` +
          ` marker missing or out of date (left in place, checked with the recomputed values;` +
          ` the ${owner} rewrites them on its next start)`,
      );
    for (const p of report.problems) out.push(`  PROBLEM: ${p}`);
    out.push(report.ok ? 'OK' : `FAILED: ${report.problems.length} problem(s)`);
    process.stdout.write(out.join('\n') + '\n');
  }
  return report.ok ? 0 : 1;
}

/**
 * The pinned keys: the trusted ones, extended by following the key history. A history that does
 * not follow is a failed check (exit 1), reported like the bundle's own checks.
 */
function pinnedKeys(
  anchors: TrustAnchor[],
  history: string[] | undefined,
): { trust: TrustAnchor[]; check?: BundleReport['checks'][number] } {
  if (history === undefined) return { trust: anchors };
  try {
    const trust = followKeyHistory(anchors, history);
    const detail = `${history.length} key transitions followed from ${anchors.length} trusted keys: ${trust.length} pinned keys`;
    return { trust, check: { name: 'key_history', ok: true, detail } };
  } catch (err) {
    if (!(err instanceof KeyHistoryError)) throw err;
    return { trust: [], check: { name: 'key_history', ok: false, detail: err.message } };
  }
}

async function verifyBundleFile(
  file: string,
  o: {
    anchors: TrustAnchor[] | undefined;
    history: string[] | undefined;
    pinnedBy: string;
    json: boolean;
  },
): Promise<number> {
  // The file's exact bytes: a bundle must be canonical JSON, so every byte is checked.
  let bundle: Uint8Array;
  try {
    bundle = new Uint8Array(fs.readFileSync(file));
  } catch (err) {
    process.stderr.write(`agdr verify: cannot read ${file}: ${reasonOf(err)}\n`);
    return 2;
  }
  const pinned = o.anchors !== undefined;
  const keys = pinned ? pinnedKeys(o.anchors ?? [], o.history) : undefined;
  const result: BundleReport =
    keys?.check?.ok === false
      ? { ok: false, checks: [keys.check], keysUsed: [] }
      : verifyBundle(bundle, keys ? { trust: keys.trust } : {});
  if (keys?.check?.ok === true) result.checks.unshift(keys.check);
  const verdict = !result.ok ? 'failed' : pinned ? 'verified' : 'unpinned';
  const status = { failed: 1, verified: 0, unpinned: UNPINNED_EXIT }[verdict];
  if (o.json) {
    process.stdout.write(JSON.stringify({ ...result, pinned, verdict }) + '\n');
    return status;
  }
  const lines = [`evidence bundle ${file}`];
  for (const c of result.checks)
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
  lines.push(
    pinned
      ? `keys: every bundle key is pinned by ${o.pinnedBy}, bound to its log and valid when it signed; used: ${result.keysUsed.length}`
      : `keys: NOT PINNED, taken from the bundle itself; used: ${result.keysUsed.length}`,
  );
  for (const k of result.keysUsed) lines.push(`  ${k}`);
  const failed = result.checks.find((c) => !c.ok);
  lines.push(
    {
      verified: 'VERIFIED',
      unpinned:
        'CONSISTENT (KEYS NOT PINNED): the bundle agrees with itself under its own keys, which says nothing about who signed it; verify with --trust FILE',
      failed: `FAILED: ${failed ? `${failed.name}: ${failed.detail}` : 'verification failed'}`,
    }[verdict],
  );
  process.stdout.write(lines.join('\n') + '\n');
  return status;
}
