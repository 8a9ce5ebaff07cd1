// The image installs production dependencies only (Dockerfile: npm ci --omit=dev), so every
// package the shipped code imports must be a dependency, not a devDependency.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** `@scope/name/sub` -> `@scope/name`; `name/sub` -> `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

describe('the image dependencies', () => {
  it('include every package src/ imports at run time', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const imported = new Map<string, string>();
    for (const file of sources(join(ROOT, 'src'))) {
      const text = readFileSync(file, 'utf8');
      // Value imports only: `import type` is erased by the compiler.
      for (const m of text.matchAll(
        /^\s*(?:import(?!\s+type\b)[^'"]*?from\s*|import\s*\(?\s*|export\s+[^'"]*?from\s*)['"]([^'"]+)['"]/gm,
      )) {
        const specifier = m[1] ?? '';
        if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
        if (builtinModules.includes(specifier)) continue;
        imported.set(packageOf(specifier), file.slice(ROOT.length));
      }
    }
    expect(imported.size).toBeGreaterThan(5);
    const missing = [...imported].filter(([name]) => !(name in pkg.dependencies));
    expect(missing).toEqual([]);
  });
});
