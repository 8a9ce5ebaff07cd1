// `agdr prove`: write an evidence bundle for one record (or several) from running services.
import fs from 'node:fs';
import path from 'node:path';
import { defineCommand, UsageError } from './command.ts';
import { parseDuration, parseHttpUrl } from './client/duration.ts';
import { tokenFile, type TokenSource } from '../clients/bearer-token.ts';
import { CoordinatorClient } from '../clients/coordinator-api.ts';
import { buildEvidenceBundle, EvidenceError } from '../client/evidence.ts';
import type { RecordLocator } from '../client/evidence.ts';
import { serializeBundle } from '../core/bundle.ts';
import { reasonOf } from '../core/errors.ts';

const help = `agdr prove — write an evidence bundle for a record

Collects from the running shard and coordinator: the record's canonical envelope, its
inclusion proof to the shard checkpoint sealed in a global root, that global root record
(signed by the coordinator) with the shard entry's inclusion proof in the Root Merkle Tree,
the global root's inclusion in the signed global log, the routing epoch table that puts the
record on its shard, and the verifier keys used. The bundle is checked before it is written
and can be verified offline with 'agdr verify'.

Usage: agdr prove --coordinator URL --record-id ID [--record-id ID ...] [--out FILE | --out-dir DIR]
       agdr prove --coordinator URL --shard N --seq S [--out FILE]

Options:
  --coordinator URL    the coordinator (it lists the shards and serves global roots)
  --record-id ID       the record's record_id (repeatable; with several, use --out-dir).
                       Every shard is asked: a record_id is unique only within a shard, so
                       an id held by two shards (or one that a shard could not be asked
                       about) is refused, naming the shards and seqs: choose with --shard/--seq.
                       Retired shards the coordinator lists without a URL are not asked; the
                       answer names them (add --shard-url to include them)
  --shard N --seq S    the record by shard id and leaf index instead
  --shard-url ID=URL   where shard ID serves its log, in place of the coordinator's listing
                       (repeatable): a retired shard served again from its volume
  --out FILE           where to write the bundle (default: <record_id>.bundle.json; - for stdout)
  --out-dir DIR        directory for the bundles (<record_id>.bundle.json each)
  --wait DURATION      wait this long for the record to be sealed in a global root (default: 0s)
  --timeout DURATION   per-request time limit (default: 30s)
  --token-file FILE    send the token in FILE as Authorization: Bearer to the shards (for a
                       cluster whose records are read only with a ServiceAccount token);
                       re-read for every request
  -h, --help           this text

Exit status: 0 when every bundle was written; 1 if a record is unknown, ambiguous (its
record_id on more than one shard, or a shard did not answer), not sealed yet, or the services'
answers do not verify; 2 on bad usage.
`;

const options = {
  coordinator: { type: 'string' },
  'record-id': { type: 'string', multiple: true },
  shard: { type: 'string' },
  seq: { type: 'string' },
  'shard-url': { type: 'string', multiple: true },
  out: { type: 'string' },
  'out-dir': { type: 'string' },
  wait: { type: 'string', default: '0s' },
  timeout: { type: 'string', default: '30s' },
  'token-file': { type: 'string' },
} as const;

export interface ProveConfig {
  coordinator: string;
  targets: RecordLocator[];
  /** Shard URLs given on the command line, over the coordinator's listing. */
  shardUrls: Map<number, string>;
  /** One bundle's file ('-': stdout), or undefined to write each to outDir. */
  out: string | undefined;
  outDir: string | undefined;
  waitMs: number;
  timeoutMs: number;
  /** Bearer token for the shards, read for every request. */
  token: TokenSource | undefined;
}

export const command = defineCommand({
  name: 'prove',
  summary: 'write an evidence bundle for one record',
  help,
  options,
  configure(values): ProveConfig {
    const targets: RecordLocator[] = [];
    if (values.coordinator === undefined) throw new UsageError('--coordinator URL is required');
    parseHttpUrl(values.coordinator, '--coordinator');
    for (const id of values['record-id'] ?? []) targets.push({ recordId: id });
    if ((values.shard === undefined) !== (values.seq === undefined))
      throw new UsageError('--shard and --seq go together');
    if (values.shard !== undefined) {
      if (targets.length > 0) throw new UsageError('give --record-id or --shard/--seq, not both');
      if (!/^\d+$/.test(values.shard) || !/^\d+$/.test(values.seq as string))
        throw new UsageError('--shard and --seq are whole numbers');
      targets.push({ shard: Number(values.shard), seq: Number(values.seq) });
    }
    if (targets.length === 0) throw new UsageError('give --record-id ID or --shard N --seq S');
    if (targets.length > 1 && values.out !== undefined)
      throw new UsageError('several records need --out-dir, not --out');
    if (values.out !== undefined && values['out-dir'] !== undefined)
      throw new UsageError('give --out or --out-dir, not both');
    const shardUrls = new Map<number, string>();
    for (const spec of values['shard-url'] ?? []) {
      const m = /^(\d{1,9})=(.+)$/.exec(spec);
      if (m === null) throw new UsageError(`--shard-url ${spec}: want ID=URL`);
      if (shardUrls.has(Number(m[1])))
        throw new UsageError(`--shard-url: shard ${m[1]} given twice`);
      shardUrls.set(Number(m[1]), parseHttpUrl(m[2] as string, '--shard-url'));
    }
    return {
      coordinator: values.coordinator,
      targets,
      shardUrls,
      out: values.out,
      outDir: values['out-dir'],
      waitMs:
        values.wait === '0s' || values.wait === '0' ? 0 : parseDuration(values.wait, '--wait'),
      timeoutMs: parseDuration(values.timeout, '--timeout'),
      token: values['token-file'] === undefined ? undefined : tokenFile(values['token-file']),
    };
  },
  async run({ targets, waitMs, timeoutMs, token, shardUrls, ...values }) {
    const coordinator = new CoordinatorClient(values.coordinator, timeoutMs);
    if (values.outDir !== undefined) fs.mkdirSync(values.outDir, { recursive: true });
    let failures = 0;
    for (const target of targets) {
      const label =
        'recordId' in target
          ? `record ${target.recordId}`
          : `shard ${target.shard} seq ${target.seq}`;
      try {
        const bundle = await buildEvidenceBundle(coordinator, target, {
          waitMs,
          timeoutMs,
          token,
          shardUrls,
          onNote: (text) => process.stderr.write(`agdr prove: ${label}: note: ${text}\n`),
        });
        const bytes = serializeBundle(bundle);
        const recordId = JSON.parse(bundle.envelope).decision.record_id as string;
        const name = `${recordId}.bundle.json`;
        const out = values.out ?? path.join(values.outDir ?? '.', name);
        if (out === '-') process.stdout.write(bytes);
        else fs.writeFileSync(out, bytes);
        const r = bundle.seal.record;
        process.stderr.write(
          `agdr prove: ${label}: shard ${r.shard_roots.find((e) => e.origin === bundle.shard.origin)?.shard_id}, sealed in global root ${r.global_root_id}` +
            (out === '-' ? '\n' : ` -> ${out}\n`),
        );
      } catch (err) {
        failures++;
        const code = err instanceof EvidenceError ? `${err.code}: ` : '';
        process.stderr.write(`agdr prove: ${label}: ${code}${reasonOf(err)}\n`);
      }
    }
    return failures > 0 ? 1 : 0;
  },
});
