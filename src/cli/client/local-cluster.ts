// The files of an `agdr local` cluster in one data directory: per-process key files, the
// routing epoch table and the trust bundle. Preparing is idempotent: on an existing directory
// it reuses the keys and table, so a restart resumes the same logs under the same keys.
import { FieldError } from '../../core/errors.ts';
import fs from 'node:fs';
import path from 'node:path';
import { coordinatorOrigin, shardOrigin } from '../../core/checkpoint.ts';
import { defaultKeyPointers, validateEpochTable } from '../../core/routing.ts';
import type { EpochTable } from '../../core/routing.ts';
import { loadOrCreateFileSigner } from '../../keys/file-signer.ts';
import type { FileSigner } from '../../keys/file-signer.ts';
import { trustedKey } from '../../clients/trust.ts';
import type { TrustBundle, TrustedKey } from '../../clients/trust.ts';
import { UsageError } from '../command.ts';

export const LOCAL_NAMESPACE = 'default';
export const LOCAL_CLUSTER = 'local';

export interface LocalShardFiles {
  id: number;
  dataDir: string;
  keyFile: string;
  signer: FileSigner;
}

export interface LocalClusterFiles {
  dataDir: string;
  namespace: string;
  cluster: string;
  routingFile: string;
  trustFile: string;
  table: EpochTable;
  shards: LocalShardFiles[];
  coordinator: { dataDir: string; keyFile: string; signer: FileSigner };
}

/**
 * The routing table of a new cluster: one epoch from the beginning of time, hash by entity,
 * jump consistent hash (scaling N to N+1 later moves only 1/(N+1) of the entities).
 */
export function initialEpochTable(shards: number): EpochTable {
  return {
    epochs: [
      {
        epoch: 0,
        strategy: 'hash-by-entity',
        key_pointers: defaultKeyPointers('hash-by-entity'),
        bucket: 'jump',
        shards,
        params: {},
        effective_from_ns: '0',
      },
    ],
  };
}

/** A data directory that cannot be used as it is (unreadable, or a file in it is malformed). */
/** `path`: the file or directory at fault. */
export class LocalDataError extends FieldError<'bad_data_dir'> {
  override name = 'LocalDataError';
  constructor(file: string, message: string) {
    super('bad_data_dir', file, message);
  }
}

/** The routing table stored in a local directory, or undefined for a new directory. */
function readStoredTable(dataDir: string): EpochTable | undefined {
  const file = path.join(dataDir, 'routing.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return undefined;
    throw new LocalDataError(file, e.message);
  }
  try {
    return validateEpochTable(JSON.parse(text));
  } catch (err) {
    throw new LocalDataError(
      file,
      `not a routing epoch table (${(err as Error).message}); fix it or use another --data`,
    );
  }
}

/** Reads the shard count of an existing local directory (undefined for a new one). */
export function existingShardCount(dataDir: string): number | undefined {
  const table = readStoredTable(dataDir);
  return table?.epochs[table.epochs.length - 1]?.shards;
}

/** Creates (or reopens) the keys, routing table and trust bundle of a local cluster. */
export async function prepareLocalCluster(
  dataDir: string,
  shardCount: number,
): Promise<LocalClusterFiles> {
  try {
    fs.mkdirSync(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new LocalDataError(
      dataDir,
      `cannot create the data directory: ${(err as Error).message}`,
    );
  }
  const routingFile = path.join(dataDir, 'routing.json');
  const trustFile = path.join(dataDir, 'trust.json');
  let table: EpochTable;
  const stored = readStoredTable(dataDir);
  const existing = stored?.epochs[stored.epochs.length - 1]?.shards;
  if (stored !== undefined && existing !== undefined) {
    if (existing !== shardCount) {
      throw new UsageError(
        `${dataDir} holds a cluster of ${existing} shards; run with --shards ${existing} (or use another --data)`,
      );
    }
    table = stored;
  } else {
    table = initialEpochTable(shardCount);
    writeFileAtomic(routingFile, JSON.stringify(table, null, 2) + '\n');
  }
  const namespace = LOCAL_NAMESPACE;
  const cluster = LOCAL_CLUSTER;
  const shards: LocalShardFiles[] = [];
  for (let id = 0; id < shardCount; id++) {
    const keyFile = path.join(dataDir, 'keys', `shard-${id}.key`);
    const signer = await loadOrCreateFileSigner(keyFile, shardOrigin(namespace, cluster, id));
    shards.push({ id, dataDir: path.join(dataDir, 'shards', String(id)), keyFile, signer });
  }
  const coordinatorKey = path.join(dataDir, 'keys', 'coordinator.key');
  const coordinatorSigner = await loadOrCreateFileSigner(
    coordinatorKey,
    coordinatorOrigin(namespace, cluster),
  );
  const keys: TrustedKey[] = [
    ...shards.flatMap((s) => trustedKeys(s.signer, 'shard', s.id)),
    ...trustedKeys(coordinatorSigner, 'coordinator'),
  ];
  const trust: TrustBundle = { version: 1, keys };
  const text = JSON.stringify(trust, null, 2) + '\n';
  if (!fs.existsSync(trustFile) || fs.readFileSync(trustFile, 'utf8') !== text)
    writeFileAtomic(trustFile, text);
  return {
    dataDir,
    namespace,
    cluster,
    routingFile,
    trustFile,
    table,
    shards,
    coordinator: {
      dataDir: path.join(dataDir, 'coordinator'),
      keyFile: coordinatorKey,
      signer: coordinatorSigner,
    },
  };
}

/**
 * Trust entries for every version of a file key. Older versions stay valid for verification:
 * they signed the checkpoints sealed before the rotation.
 */
function trustedKeys(
  signer: FileSigner,
  role: 'shard' | 'coordinator',
  shardId?: number,
): TrustedKey[] {
  return signer.versions.map((v) =>
    trustedKey(
      role,
      { name: signer.name, publicKey: v.publicKey, keyVersion: v.keyVersion },
      shardId,
    ),
  );
}

/** Writes through a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}
