import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, epochTable, removeTempDirs, tempDir, writeRouting } from './shard-process.ts';

afterAll(() => removeTempDirs());

function agdrShard(...args: string[]): { status: number | null; stderr: string } {
  const dir = tempDir();
  const routing = writeRouting(dir, epochTable(1));
  const r = spawnSync(
    process.execPath,
    [path.join(ROOT, 'src/cli/agdr.ts'), 'shard', '--data', dir, '--shard-id', '0'].concat(
      ['--routing', routing, '--port', '0'],
      args,
    ),
    { encoding: 'utf8', timeout: 20_000 },
  );
  return { status: r.status, stderr: r.stderr };
}

describe('agdr shard group-commit flags', () => {
  it('documents --max-batch-bytes and rejects a value that is not a positive byte count', () => {
    const help = spawnSync(process.execPath, [path.join(ROOT, 'src/cli/agdr.ts'), 'shard', '-h'], {
      encoding: 'utf8',
    });
    expect(help.stdout).toContain('--max-batch-bytes BYTES');
    for (const bad of ['0', '-1', '1.5MiB', '']) {
      const r = agdrShard('--max-batch-bytes', bad);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('--max-batch-bytes');
    }
  });
});
