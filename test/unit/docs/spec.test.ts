import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleSpec } from '../../../scripts/spec.ts';

const root = path.resolve(import.meta.dirname, '../../..');

describe('docs/SPEC.md', () => {
  it('is the assembly of docs/spec/*.md (run `npm run docs:spec`)', () => {
    const onDisk = readFileSync(path.join(root, 'docs', 'SPEC.md'), 'utf8');
    expect(onDisk).toBe(assembleSpec(root));
  });
});
