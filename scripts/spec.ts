// docs/SPEC.md is assembled from the sections in docs/spec/*.md (one file per format area, so
// each area's worked examples sit beside the tests that check them). `npm run docs:spec`
// rewrites it; a unit test fails when it is out of date.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const HEADER = `# AgDR data formats (specification)

<!-- Generated from docs/spec/*.md by \`npm run docs:spec\`. Edit those files, not this one. -->

This document states every AgDR data format byte for byte: hashing and Merkle trees, signed
notes and checkpoints, decisions and leaf envelopes, routing, global root records, evidence
bundles, and on-disk storage. The worked examples are checked by the test suite.

The key words MUST, MUST NOT, SHOULD and MAY are to be read as in RFC 2119.
`;

export function assembleSpec(root: string): string {
  const dir = path.join(root, 'docs', 'spec');
  const parts = readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8').trim());
  return [HEADER.trim(), ...parts].join('\n\n') + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = path.resolve(import.meta.dirname, '..');
  writeFileSync(path.join(root, 'docs', 'SPEC.md'), assembleSpec(root));
}
