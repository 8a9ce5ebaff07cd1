// Shards a round found missing or unverified while the round itself could not be sealed (its
// records could not be signed: the coordinator's key service was down too, as in a Vault outage
// that stops every signer). Without them the next sealed round would cover the whole outage
// with whatever the shards answer by then, and the gap would leave no trace. With them, the
// next round that can sign first seals a global root for the gap in which those shards are
// missing (opening missed intervals), then its own, in which a shard that answers again is
// reconstructed as for any shard that was down. Pure: no clock, no log.
import type { Settled } from '../clients/pool.ts';
import type { ShardObservation } from './shard-check.ts';

export type Miss = Extract<ShardObservation, { status: 'missing' | 'unverified' }>;

/** Per shard id, the first miss seen by rounds that were not sealed. */
export type UnsealedMisses = ReadonlyMap<number, Miss>;

function missOf(r: Settled<ShardObservation> | undefined): Miss | undefined {
  if (r === undefined) return { status: 'missing', reason: 'not checked' };
  if (!r.ok) return { status: 'missing', reason: r.reason };
  return r.value.status === 'ok' ? undefined : r.value;
}

/**
 * Adds the misses of a round that could not be sealed to those remembered; undefined while no
 * unsealed round missed any shard (then nothing needs recording).
 */
export function rememberMisses(
  before: UnsealedMisses | undefined,
  ids: readonly number[],
  observations: readonly (Settled<ShardObservation> | undefined)[],
): UnsealedMisses | undefined {
  const out = new Map(before ?? []);
  ids.forEach((id, i) => {
    const miss = missOf(observations[i]);
    if (miss !== undefined && !out.has(id)) out.set(id, miss);
  });
  return out.size > 0 ? out : undefined;
}

/**
 * The observations of the gap's global root: a remembered miss for each shard that had one
 * (its reason says the round was not sealed then), this round's observation for the others.
 */
export function gapObservations(
  misses: UnsealedMisses,
  ids: readonly number[],
  observations: readonly (Settled<ShardObservation> | undefined)[],
): (Settled<ShardObservation> | undefined)[] {
  return ids.map((id, i) => {
    const miss = misses.get(id);
    if (miss === undefined) return observations[i];
    const reason = `${miss.reason} (while the coordinator could not sign a global root)`;
    return { ok: true, value: { ...miss, reason } };
  });
}
