// A shard whose signer fails (its key service down) keeps acknowledging, and says so where a
// coordinator looks: GET /v1/checkpoint answers 503 checkpoint_unsigned while the latest signed
// checkpoint does not cover what was acknowledged, and serves a covering one once signing works.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCheckpoint, shardOrigin, verifyCheckpoint } from '../../../src/core/checkpoint.ts';
import { parseNote } from '../../../src/core/note.ts';
import { startShard } from '../../../src/shard-runtime/index.ts';
import { InMemoryVersionedSigner } from '../../fixtures/versioned-signer.ts';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  tempDir,
  waitFor,
  writeRouting,
} from './shard-process.ts';

afterAll(() => removeTempDirs());

describe('a shard whose checkpoint signing fails', () => {
  it('answers 503 checkpoint_unsigned for its checkpoint while it cannot cover its appends', async () => {
    const table = epochTable(1);
    const dir = tempDir('agdr-signing-outage-');
    const signer = new InMemoryVersionedSigner(shardOrigin('default', 'local', 0), 1);
    const running = await startShard({
      dataDir: join(dir, 'data'),
      shardId: 0,
      routingFile: writeRouting(dir, table),
      signer,
      checkpointIntervalMs: 100,
    });
    try {
      let from = 0;
      const post = async (): Promise<number> =>
        (
          await request(`${running.url}/v1/decisions:batch`, {
            body: ndjson(decisionsFor(table, 0, 10, { tag: 'outage', from: (from += 100) })),
            type: 'application/x-ndjson',
          })
        ).status;
      const checkpoint = () => request<string>(`${running.url}/v1/checkpoint`);
      const sizeOf = (note: string): number => parseCheckpoint(parseNote(note).text).size;
      expect(await post()).toBe(200);
      await waitFor(
        async () => {
          const res = await checkpoint();
          return res.status === 200 && sizeOf(res.text) === 10 ? true : undefined;
        },
        10_000,
        'a checkpoint of 10 records',
      );

      signer.down = true;
      // Signed at size 10 and nothing since: still current.
      expect((await checkpoint()).status).toBe(200);
      expect(await post()).toBe(200);
      const unsigned = await waitFor(
        async () => {
          const res = await checkpoint();
          return res.status === 503 ? res : undefined;
        },
        10_000,
        '503 checkpoint_unsigned',
      );
      expect(unsigned.body).toMatchObject({ error: { code: 'checkpoint_unsigned' } });
      expect(unsigned.text).toMatch(/no checkpoint covers the 10 records appended since size 10/);
      // The old checkpoint stays where it always was.
      expect(sizeOf((await request<string>(`${running.url}/v1/checkpoints?size=10`)).text)).toBe(
        10,
      );

      signer.down = false;
      const note = await waitFor(
        async () => {
          const res = await checkpoint();
          return res.status === 200 && sizeOf(res.text) === 20 ? res.text : undefined;
        },
        40_000,
        'a checkpoint covering all 20 records once signing works',
      );
      expect(verifyCheckpoint(note, [signer.key(1)], running.origin).size).toBe(20);
    } finally {
      await running.close();
    }
  }, 60_000);
});
