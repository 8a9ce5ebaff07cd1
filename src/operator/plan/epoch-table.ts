// The routing table as a log of epochs: what a migration appends to it. The table is only ever
// extended, never rewritten: every global root commits to the table it was built under.
import { validateEpochTable } from '../../core/routing.ts';
import type { EpochTable, RoutingEpoch, RoutingParams } from '../../core/routing.ts';

/** The last epoch of a table (a valid table has at least one). */
export function lastEpoch(table: EpochTable): RoutingEpoch {
  const last = table.epochs[table.epochs.length - 1];
  if (last === undefined) throw new RangeError('an epoch table has at least one epoch');
  return last;
}

/** The epoch numbered `epoch`, if the table has it. */
export function epochNumbered(table: EpochTable, epoch: number): RoutingEpoch | undefined {
  return table.epochs.find((e) => e.epoch === epoch);
}

/**
 * `table` with one more epoch: the last epoch's strategy, key pointers and bucket function over
 * `shards` shards from `effectiveFromNs`, with `params` when given (a domain map may have to
 * change with the shard count) or else the last epoch's. Throws RoutingError when the result is
 * not a valid table (an effective time not after the last one, a domain map naming a shard id
 * beyond `shards`).
 */
export function appendEpoch(
  table: EpochTable,
  shards: number,
  effectiveFromNs: bigint,
  params?: RoutingParams,
): EpochTable {
  const last = lastEpoch(table);
  const next: RoutingEpoch = {
    ...structuredClone(last),
    epoch: last.epoch + 1,
    shards,
    ...(params !== undefined ? { params: structuredClone(params) } : {}),
    effective_from_ns: effectiveFromNs.toString(10),
  };
  return validateEpochTable({ epochs: [...structuredClone(table.epochs), next] });
}

/** Nanoseconds since the epoch of a Date. */
export function nsOf(t: Date): bigint {
  return BigInt(t.getTime()) * 1_000_000n;
}

/**
 * How the routing every epoch of `table` shares (strategy, key pointers, bucket function) differs
 * from `wanted`, the first epoch a cluster's spec would publish: one line per field, empty when
 * they agree. The spec fixes these for a cluster's life (the CRD makes them immutable), so a
 * difference means the table is another cluster's (an earlier one of the same name) and must be
 * neither followed nor rewritten. The bucket function of domain-partitioned is not compared:
 * that strategy does not use it.
 */
export function routingDifferences(table: EpochTable, wanted: RoutingEpoch): string[] {
  const have = lastEpoch(table);
  const out: string[] = [];
  const differ = (field: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) !== JSON.stringify(b))
      out.push(`${field} ${JSON.stringify(a)} (spec: ${JSON.stringify(b)})`);
  };
  differ('strategy', have.strategy, wanted.strategy);
  differ('key_pointers', have.key_pointers, wanted.key_pointers);
  if (have.strategy !== 'domain-partitioned' || wanted.strategy !== 'domain-partitioned')
    differ('bucket', have.bucket, wanted.bucket);
  return out;
}
