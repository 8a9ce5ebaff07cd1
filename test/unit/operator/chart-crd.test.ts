// The chart installs the same CRD as crds/ (the one source of truth): its copy in
// charts/agdr-operator/crds/ must be byte for byte the same file.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the chart CRD', () => {
  it('is crds/ copied unchanged (npm run chart:crd after editing the CRD)', () => {
    expect(readdirSync(`${ROOT}charts/agdr-operator/crds`)).toEqual(readdirSync(`${ROOT}crds`));
    for (const file of readdirSync(`${ROOT}crds`)) {
      expect(
        readFileSync(`${ROOT}charts/agdr-operator/crds/${file}`, 'utf8'),
        `charts/agdr-operator/crds/${file} differs from crds/${file}: run npm run chart:crd`,
      ).toBe(readFileSync(`${ROOT}crds/${file}`, 'utf8'));
    }
  });
});
