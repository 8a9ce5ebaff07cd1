// KeyHistoryFile: the key history a log process keeps beside its log. A versioned signer of
// in-memory keys stands in for the key service (Vault's own behaviour is in the cluster tier).
// The file system is real (a temporary directory).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  firstKeyAnchor,
  followKeyHistory,
  openKeyTransition,
} from '../../../src/core/key-history.ts';
import { KeyHistoryFile } from '../../../src/keys/key-history-file.ts';
import { InMemoryVersionedSigner } from '../../fixtures/versioned-signer.ts';

const NAME = 'agdr.dev/ns/desk/shard-2';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(versions = 1) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agdr-key-history-'));
  dirs.push(dir);
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
  let now = 1_000n;
  const service = new InMemoryVersionedSigner(NAME, versions);
  const open = () =>
    KeyHistoryFile.open({
      file: path.join(dir, 'key-history.json'),
      signer: service,
      clock: () => (now += 1_000n),
      logger,
    });
  return { dir, service, open, logs: () => lines.join('') };
}

describe('KeyHistoryFile', () => {
  it('starts with the version in use as the first key, and records nothing while it signs', async () => {
    const { service, open, dir } = setup();
    const h = await open();
    await h.advance();
    expect(h.document).toEqual({
      format: 'agdr-key-history/v1',
      origin: NAME,
      first: { version: 1, verifier_key: service.key(1) },
      transitions: [],
    });
    expect(JSON.parse(readFileSync(path.join(dir, 'key-history.json'), 'utf8'))).toEqual(
      h.document,
    );
  });

  it('a rotation: the transition is signed and stored before the new version signs', async () => {
    const { service, open, dir } = setup();
    const h = await open();
    service.rotate();
    // Learnt but not taken up until advance().
    expect(service.keyVersion).toBe(1);
    await h.advance();
    expect(service.keyVersion).toBe(2);
    const [note] = h.document.transitions;
    expect(openKeyTransition(note!)).toEqual({
      origin: NAME,
      oldVersion: 1,
      oldKey: service.key(1),
      newVersion: 2,
      newKey: service.key(2),
      validFromNs: 2_000n,
    });
    const stored = JSON.parse(readFileSync(path.join(dir, 'key-history.json'), 'utf8'));
    expect(stored).toEqual(h.document);
    // Two more rotations at once go straight to the newest.
    service.rotate();
    service.rotate();
    await h.advance();
    const pinned = followKeyHistory([firstKeyAnchor(service.key(1))], h.document.transitions);
    expect(pinned.map((a) => [a.verifier_key, a.valid_from_ns, a.valid_until_ns])).toEqual([
      [service.key(1), '0', '2000'],
      [service.key(2), '2000', '3000'],
      [service.key(4), '3000', null],
    ]);
  });

  it('a restart records a rotation made while down; until it can, the version the history reached signs', async () => {
    const { service, open } = setup();
    await open();
    service.rotate();
    // A key service signer starts with its newest version; the history decides.
    service.useVersion(2);
    service.down = true;
    const restarted = await open();
    expect(service.keyVersion).toBe(1);
    expect(restarted.document.transitions).toEqual([]);
    service.down = false;
    const again = await open();
    expect(service.keyVersion).toBe(2);
    expect(openKeyTransition(again.document.transitions[0]!).oldVersion).toBe(1);
  });

  it('the key service down: advance fails, the old version keeps signing, a later advance records it', async () => {
    const { service, open } = setup();
    const h = await open();
    service.rotate();
    service.down = true;
    await expect(h.advance()).rejects.toThrow(/unreachable/);
    expect(service.keyVersion).toBe(1);
    expect(h.document.transitions).toEqual([]);
    service.down = false;
    await h.advance();
    expect(service.keyVersion).toBe(2);
    expect(h.document.transitions).toHaveLength(1);
  });

  it('an old version trimmed before its successor was recorded: the break is logged, the newest signs', async () => {
    const { service, open, logs } = setup();
    const h = await open();
    service.rotate();
    service.minVersion = 2;
    await h.advance();
    expect(service.keyVersion).toBe(2);
    expect(h.document.transitions).toEqual([]);
    expect(logs()).toMatch(/the key history is broken here/);
    // Later rotations are recorded from the version that took over.
    service.rotate();
    await h.advance();
    expect(openKeyTransition(h.document.transitions[0]!).oldVersion).toBe(2);
    // The stored history still opens on restart (a verifier finds the break).
    await open();
    expect(() =>
      followKeyHistory([firstKeyAnchor(service.key(1))], h.document.transitions),
    ).toThrow(/untrusted_start|not a trusted key/);
  });

  it("refuses another log's history file", async () => {
    const { open, dir } = setup();
    const h = await open();
    const other = JSON.stringify({ ...h.document, origin: 'agdr.dev/ns/desk/shard-3' });
    writeFileSync(path.join(dir, 'key-history.json'), other);
    await expect(open()).rejects.toThrow();
  });
});
