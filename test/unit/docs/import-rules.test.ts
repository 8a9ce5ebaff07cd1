// The layering rules of docs/ARCHITECTURE.md, checked on every import in src/.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm, // static import / re-export
    /^\s*import\s+'([^']+)'/gm, // side-effect import
    /\bimport\(\s*'([^']+)'\s*\)/g, // dynamic import
  ];
  return patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[1] as string));
}

/** The top-level src/ folder an import resolves to, or the bare package name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return path.relative(src, path.resolve(path.dirname(file), spec)).split(path.sep)[0] as string;
}

// Which src/ folders each folder may import (besides itself and packages).
const allowed: Record<string, string[]> = {
  core: [],
  'log-store': ['core'],
  keys: ['core'],
  clients: ['core'],
  'shard-runtime': ['core', 'log-store', 'keys'],
  coordinator: ['core', 'log-store', 'keys', 'clients'],
  operator: ['core', 'keys', 'clients'],
  cli: ['core', 'log-store', 'keys', 'clients', 'shard-runtime', 'coordinator', 'operator'],
};
const folders = Object.keys(allowed);
// src/core is pure: computation only, no file system, network, processes or environment.
const coreMayUse = new Set([
  'node:crypto',
  'hash-wasm',
  'canonicalize',
  '@noble/hashes/blake3.js',
  '@noble/ed25519',
]);

describe('import rules', () => {
  const files = sourceFiles(src);

  it('finds the source tree', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('each folder imports only the folders it may', () => {
    const violations: string[] = [];
    for (const file of files) {
      const folder = path.relative(src, file).split(path.sep)[0] as string;
      for (const spec of importsOf(file)) {
        const to = target(file, spec);
        if (folders.includes(to) && to !== folder && !(allowed[folder] ?? []).includes(to)) {
          violations.push(`${path.relative(src, file)} imports ${spec}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('src/core does no I/O and reads no environment', () => {
    const violations: string[] = [];
    for (const file of files.filter((f) => path.relative(src, f).startsWith('core'))) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.') && !coreMayUse.has(spec)) violations.push(`${file}: ${spec}`);
      }
      if (
        /process\.(env|argv|cwd)|Date\.now\(|performance\.now\(/.test(readFileSync(file, 'utf8'))
      ) {
        violations.push(`${file}: reads the environment or the clock`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('only src/cli reads process.env', () => {
    const readers = files.filter(
      (f) =>
        !path.relative(src, f).startsWith('cli') && readFileSync(f, 'utf8').includes('process.env'),
    );
    expect(readers).toEqual([]);
  });
});
