// The transparency-dev RFC 6962 inclusion and consistency vectors (SHA-256), read from the
// shared checkout next to the project. A missing directory fails: these are the proof that the
// Merkle code follows the RFC.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../../src/core/hash.ts';
import {
  checkConsistencyCase,
  checkInclusionCase,
  readCase,
  vectorFiles,
  type ConsistencyCase,
  type InclusionCase,
} from './proof-vectors.ts';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const vectorsDir = path.resolve(repoRoot, '../shared/vectors/rfc6962');
const present = existsSync(vectorsDir);

describe('RFC 6962 vectors', () => {
  it('are present', () => {
    expect(present, `missing ${vectorsDir}`).toBe(true);
  });

  const inclusion = present ? vectorFiles(vectorsDir, 'inclusion') : [];
  const consistency = present ? vectorFiles(vectorsDir, 'consistency') : [];

  it('include both kinds and rejection cases', () => {
    expect(inclusion.length).toBeGreaterThan(50);
    expect(consistency.length).toBeGreaterThan(50);
  });

  it.each(inclusion)('inclusion %s', (_, file) => {
    checkInclusionCase(sha256, readCase<InclusionCase>(file));
  });

  it.each(consistency)('consistency %s', (_, file) => {
    checkConsistencyCase(sha256, readCase<ConsistencyCase>(file));
  });
});
