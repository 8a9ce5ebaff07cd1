// `agdr submit` streams: a pipe fed one line a second is acknowledged line by line (each
// receipt printed before the next line is written), and bad lines are reported with their line
// number and field path while the good ones go on; --validate-first sends nothing then.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkLine, upstreamRecord } from '../../fixtures/records.ts';
import { killAll, runAgdr, spawnAgdr, startLocal, tempDir, waitFor } from '../e2e/harness.ts';
import type { LocalInfo } from '../e2e/harness.ts';

let dir: string;
let info: LocalInfo;

beforeAll(async () => {
  dir = tempDir('submit-stream');
  ({ info } = await startLocal(dir, 2));
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

const line = (i: number, tag: string): string =>
  sdkLine(upstreamRecord(i, { id: `${tag}-${i}`, ctx: { entity_id: `e${i}` } }));

interface Printed {
  line: number;
  record_id: string;
  shard_id: number;
  seq: number;
}

describe('agdr submit (streaming)', () => {
  it('acknowledges a slow pipe (a line a second) line by line', async () => {
    const p = spawnAgdr(['submit', '-', '--coordinator', info.coordinator, '--json']);
    const stdin = p.child.stdin as NodeJS.WritableStream;
    for (let i = 0; i < 5; i++) {
      const sent = Date.now();
      stdin.write(line(i, 'slow') + '\n');
      // The receipt arrives while the pipe stays open: nothing waits for the end of the input.
      await waitFor(`the receipt of line ${i + 1}`, async () =>
        p.lines.length > i ? true : undefined,
      );
      const printed = JSON.parse(p.lines[i] as string) as Printed;
      expect(printed).toMatchObject({ line: i + 1, record_id: `slow-${i}` });
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - sent))));
    }
    stdin.end();
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toContain('5 of 5 decisions acknowledged');
  });

  it('reports each bad line (number and field path), sends the good ones, exits 2', async () => {
    const broken = upstreamRecord(2, { id: 'mixed-2' });
    delete (broken.ppp_triplet as Record<string, unknown>).place;
    const input = [line(1, 'mixed'), sdkLine(broken), '', 'not json', line(4, 'mixed')];
    const r = await runAgdr(
      ['submit', '-', '--coordinator', info.coordinator, '--json'],
      input.join('\n') + '\n',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 2: \$\.ppp_triplet\.place: /);
    expect(r.stderr).toMatch(/line 4: \$: /);
    expect(r.stderr).toContain('2 of 4 decisions acknowledged');
    expect(r.stderr).toContain('2 invalid');
    const printed = r.stdout.split('\n').map((l) => JSON.parse(l) as Printed);
    expect(printed.map((x) => [x.line, x.record_id]).sort()).toEqual([
      [1, 'mixed-1'],
      [5, 'mixed-4'],
    ]);
  });

  it('--validate-first sends nothing when a line is invalid (stdin and a file)', async () => {
    const file = `${dir}/first.ndjson`;
    const input = [line(1, 'first'), 'not json', line(3, 'first')].join('\n') + '\n';
    fs.writeFileSync(file, input);
    for (const [arg, stdin] of [
      ['-', input],
      [file, undefined],
    ] as const) {
      const r = await runAgdr(
        ['submit', arg, '--coordinator', info.coordinator, '--validate-first'],
        stdin,
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('nothing sent; 1 problem(s)');
      expect(r.stderr).toMatch(/line 2: \$: /);
    }
    const ok = await runAgdr([
      'prove',
      '--coordinator',
      info.coordinator,
      '--record-id',
      'first-1',
    ]);
    expect(ok.stderr).toMatch(/not_found/);
    // Valid: the file is read again and sent.
    fs.writeFileSync(file, [line(1, 'first'), line(3, 'first')].join('\n') + '\n');
    const sent = await runAgdr([
      'submit',
      file,
      '--coordinator',
      info.coordinator,
      '--validate-first',
    ]);
    expect(sent.code).toBe(0);
    expect(sent.stderr).toContain('2 of 2 decisions acknowledged');
  });

  it('refuses a record_id conflict by line and exits 1', async () => {
    const a = upstreamRecord(7, { id: 'dup-7', ctx: { entity_id: 'same' } });
    const b = upstreamRecord(8, { id: 'dup-7', ctx: { entity_id: 'same' } });
    const r = await runAgdr(
      ['submit', '-', '--coordinator', info.coordinator],
      `${sdkLine(a)}\n${sdkLine(b)}\n`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2: record_id_conflict: shard \d: record_id dup-7 is taken/);
    expect(r.stderr).toContain('1 of 2 decisions acknowledged');
  });
});
