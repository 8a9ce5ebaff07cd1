// The layering rules of docs/ARCHITECTURE.md live in eslint.config.js, so `npm run lint`
// fails on a wrong import. These tests plant forbidden (and allowed) imports in files of each
// folder and lint them with the repository's own configuration, then lint the real tree.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../../..');
const eslint = new ESLint({ cwd: repo });

const LAYER_RULES = new Set([
  'no-restricted-imports',
  'no-restricted-properties',
  'no-restricted-syntax',
]);

/** The layering rules `code` breaks as the file `file` (relative to the repository). */
async function broken(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repo, file) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId))
    .map((m) => `${m.ruleId}: ${m.message}`);
}

const use = (spec: string): string => `import * as m from '${spec}';\nexport const x = m;\n`;

describe('import rules (eslint.config.js)', () => {
  it.each([
    ['src/operator/planted.ts', '../coordinator/coordinator.ts'],
    ['src/operator/planted.ts', '../shard-runtime/index.ts'],
    ['src/operator/planted.ts', '../log-store/index.ts'],
    ['src/operator/specs/planted.ts', '../../cli/command.ts'],
    ['src/clients/planted.ts', '../coordinator/errors.ts'],
    ['src/clients/planted.ts', '../keys/file-signer.ts'],
    ['src/coordinator/planted.ts', '../shard-runtime/index.ts'],
    ['src/shard-runtime/planted.ts', '../clients/http.ts'],
    ['src/log-store/planted.ts', '../keys/file-signer.ts'],
    ['src/keys/planted.ts', '../log-store/index.ts'],
    ['src/core/merkle/planted.ts', '../../clients/http.ts'],
    ['src/core/planted.ts', 'node:fs'],
    ['src/core/planted.ts', 'pino'],
    ['src/http-server/planted.ts', '../core/bytes.ts'],
    // The client library stands on core and the shared client layer only.
    ['src/client/planted.ts', '../shard-runtime/index.ts'],
    ['src/client/planted.ts', '../cli/command.ts'],
    ['src/clients/planted.ts', '../client/index.ts'],
    ['src/operator/planted.ts', '../client/index.ts'],
    // Only the commands that start a coordinator may import it.
    ['src/cli/prove.ts', '../coordinator/api.ts'],
    ['src/cli/client/planted.ts', '../../coordinator/records.ts'],
  ])('%s may not import %s', async (file, spec) => {
    const problems = await broken(file, use(spec));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^no-restricted-imports: /);
  });

  it.each([
    ['src/operator/planted.ts', '../clients/coordinator-api.ts'],
    ['src/operator/planted.ts', '../core/routing.ts'],
    ['src/operator/planted.ts', '../keys/file-signer.ts'],
    ['src/operator/specs/planted.ts', '../../clients/index.ts'],
    ['src/operator/specs/planted.ts', '../types.ts'],
    ['src/coordinator/planted.ts', '../clients/shard-api.ts'],
    ['src/clients/planted.ts', '../core/global-root/index.ts'],
    ['src/core/merkle/planted.ts', '../bytes.ts'],
    ['src/core/planted.ts', '@noble/ed25519'],
    ['src/cli/coordinator.ts', '../coordinator/coordinator.ts'],
    ['src/cli/local.ts', '../coordinator/coordinator.ts'],
    ['src/cli/client/planted.ts', '../../shard-runtime/index.ts'],
    ['src/shard-runtime/planted.ts', '../http-server/server-limits.ts'],
    ['src/coordinator/planted.ts', '../http-server/methods.ts'],
    ['src/client/planted.ts', '../clients/http.ts'],
    ['src/client/planted.ts', '../core/routing.ts'],
    ['src/cli/planted.ts', '../client/index.ts'],
  ])('%s may import %s', async (file, spec) => {
    expect(await broken(file, use(spec))).toEqual([]);
  });

  it('sees re-exports and dynamic imports too', async () => {
    expect(
      await broken('src/operator/planted.ts', "export * from '../coordinator/api.ts';\n"),
    ).toHaveLength(1);
    expect(
      await broken(
        'src/operator/planted.ts',
        "export const m = import('../coordinator/api.ts');\n",
      ),
    ).toHaveLength(1);
    expect(await broken('src/cli/agdr.ts', "export const m = import('./verify.ts');\n")).toEqual(
      [],
    );
  });

  it('keeps src/core free of the environment and the clock, and process.env in src/cli', async () => {
    expect(await broken('src/core/planted.ts', 'export const t = Date.now();\n')).toHaveLength(1);
    expect(await broken('src/core/planted.ts', 'export const a = process.argv;\n')).toHaveLength(1);
    expect(
      await broken('src/clients/planted.ts', 'export const e = process.env.X;\n'),
    ).toHaveLength(1);
    expect(await broken('src/cli/planted.ts', 'export const e = process.env.X;\n')).toEqual([]);
  });

  it('the source tree follows them', async () => {
    const results = await eslint.lintFiles(['src']);
    const problems = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId))
        .map((m) => `${path.relative(repo, r.filePath)}:${m.line} ${m.message}`),
    );
    expect(results.length).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });
});
