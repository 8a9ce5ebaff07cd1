import { describe, expect, it } from 'vitest';
import type { EpochTable } from '../../../src/core/routing.ts';
import { retirementAt } from '../../../src/shard-runtime/retirement.ts';
import { epoch } from './epochs.ts';

describe('retirementAt', () => {
  const table: EpochTable = {
    epochs: [epoch(0, 3, '100'), epoch(1, 2, '200'), epoch(2, 1, '300'), epoch(3, 4, '400')],
  };

  it('is undefined while the shard is in the epoch in force, or before any epoch', () => {
    expect(retirementAt(table, 2, '50')).toBeUndefined();
    expect(retirementAt(table, 2, '199')).toBeUndefined();
    expect(retirementAt(table, 0, '350')).toBeUndefined();
  });

  it('names the epoch in force and the boundary that first left the shard out', () => {
    expect(retirementAt(table, 2, '200')).toEqual({ epoch: 1, retiredFromNs: '200' });
    expect(retirementAt(table, 2, '350')).toEqual({ epoch: 2, retiredFromNs: '200' });
    expect(retirementAt(table, 1, '350')).toEqual({ epoch: 2, retiredFromNs: '300' });
  });

  it('does not retire a shard that is back in force, or one not yet used (scale-up ahead)', () => {
    expect(retirementAt(table, 2, '400')).toBeUndefined();
    expect(retirementAt(table, 3, '350')).toBeUndefined();
  });
});
