// A hash-by-entity routing epoch for tests that only care about shard counts and boundaries.
import { defaultKeyPointers, type RoutingEpoch } from '../../../src/core/routing.ts';

export const epoch = (n: number, shards: number, from: string): RoutingEpoch => ({
  epoch: n,
  strategy: 'hash-by-entity',
  key_pointers: defaultKeyPointers('hash-by-entity'),
  bucket: 'jump',
  shards,
  params: {},
  effective_from_ns: from,
});
