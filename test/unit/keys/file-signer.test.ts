import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as noble from '@noble/ed25519';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { utf8 } from '../../../src/core/bytes.ts';
import { openNote, signNote, verifierKeyString } from '../../../src/core/note.ts';
import {
  KeyFileError,
  loadOrCreateFileSigner,
  rotateFileKey,
} from '../../../src/keys/file-signer.ts';

const NAME = 'agdr.dev/default/local/shard-0';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'agdr-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeyFileError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('file signer', () => {
  it('creates a 0600 key file, leaves no temporary files, and signs verifiably', async () => {
    const file = path.join(dir, 'shard-0.key');
    const signer = await loadOrCreateFileSigner(file, NAME);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['shard-0.key']);
    expect(signer.name).toBe(NAME);
    expect(signer.keyVersion).toBe(1);
    expect(signer.versions).toEqual([{ keyVersion: 1, publicKey: signer.publicKey }]);
    const msg = utf8.encode('hello');
    const sig = await signer.sign(msg);
    expect(await noble.verifyAsync(sig, msg, signer.publicKey)).toBe(true);
    const note = await signNote('hello\n', [signer]);
    expect(openNote(note, [verifierKeyString(NAME, signer.publicKey)]).verified).toHaveLength(1);
  });

  it('reloads the same key', async () => {
    const file = path.join(dir, 'k');
    const a = await loadOrCreateFileSigner(file, NAME);
    const b = await loadOrCreateFileSigner(file, NAME);
    expect(b.publicKey).toEqual(a.publicKey);
    const msg = utf8.encode('x');
    expect(await b.sign(msg)).toEqual(await a.sign(msg));
  });

  it('concurrent creators end up with one key', async () => {
    const file = path.join(dir, 'k');
    const all = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateFileSigner(file, NAME)),
    );
    for (const s of all) expect(s.publicKey).toEqual(all[0]?.publicKey);
    expect(await readdir(dir)).toEqual(['k']);
  });

  it('does not expose key material on the signer object', async () => {
    const file = path.join(dir, 'k');
    const signer = await loadOrCreateFileSigner(file, NAME);
    const doc = JSON.parse(await readFile(file, 'utf8')) as { versions: { private_key: string }[] };
    const secret = doc.versions[0]?.private_key as string;
    expect(JSON.stringify(signer)).not.toContain(secret);
    expect(Object.keys(signer).sort()).toEqual([
      'activeVersion',
      'canSignWith',
      'keyVersion',
      'name',
      'publicKey',
      'sign',
      'signWithVersion',
      'useVersion',
      'versions',
    ]);
  });

  it('rotates: the newest version signs, old public keys stay listed', async () => {
    const file = path.join(dir, 'k');
    const v1 = await loadOrCreateFileSigner(file, NAME);
    const v2 = await rotateFileKey(file);
    expect(v2.keyVersion).toBe(2);
    expect(v2.publicKey).not.toEqual(v1.publicKey);
    expect(v2.versions.map((v) => v.keyVersion)).toEqual([1, 2]);
    expect(v2.versions[0]?.publicKey).toEqual(v1.publicKey);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const reloaded = await loadOrCreateFileSigner(file, NAME);
    expect(reloaded.keyVersion).toBe(2);
    expect(reloaded.publicKey).toEqual(v2.publicKey);
    const msg = utf8.encode('m');
    expect(await noble.verifyAsync(await reloaded.sign(msg), msg, v2.publicKey)).toBe(true);
    // Every version still signs when asked for (a key transition needs the old one), and the
    // version in use is the caller's choice.
    expect(await noble.verifyAsync(await reloaded.signWithVersion(1, msg), msg, v1.publicKey)).toBe(
      true,
    );
    expect([reloaded.canSignWith(1), reloaded.canSignWith(2), reloaded.canSignWith(3)]).toEqual([
      true,
      true,
      false,
    ]);
    reloaded.useVersion(1);
    expect([reloaded.keyVersion, reloaded.publicKey]).toEqual([1, v1.publicKey]);
    expect(await noble.verifyAsync(await reloaded.sign(msg), msg, v1.publicKey)).toBe(true);
    expect(() => reloaded.useVersion(3)).toThrow(/no version 3/);
  });

  it('refuses a key file others can read', async () => {
    const file = path.join(dir, 'k');
    await loadOrCreateFileSigner(file, NAME);
    await chmod(file, 0o644);
    expect(await code(loadOrCreateFileSigner(file, NAME))).toBe('insecure_permissions');
  });

  it('refuses a different key name', async () => {
    const file = path.join(dir, 'k');
    await loadOrCreateFileSigner(file, NAME);
    expect(await code(loadOrCreateFileSigner(file, 'other'))).toBe('name_mismatch');
  });

  it('rejects malformed files without echoing their content', async () => {
    const file = path.join(dir, 'k');
    const good = await (async () => {
      await loadOrCreateFileSigner(file, NAME);
      return JSON.parse(await readFile(file, 'utf8')) as {
        versions: { public_key: string; private_key: string; version: number }[];
      };
    })();
    const secret = good.versions[0]?.private_key as string;
    const variants: string[] = [
      `SECRET-${secret}`,
      JSON.stringify({ ...good, format: 'x' }),
      JSON.stringify({ ...good, versions: [] }),
      JSON.stringify({ ...good, versions: [{ ...good.versions[0], version: 2 }] }),
      JSON.stringify({ ...good, versions: [{ ...good.versions[0], public_key: 'AAAA' }] }),
      JSON.stringify({ ...good, versions: [{ ...good.versions[0], private_key: 'AAAA' }] }),
    ];
    for (const content of variants) {
      await writeFile(file, content, { mode: 0o600 });
      try {
        await loadOrCreateFileSigner(file, NAME);
        expect.fail('loaded a malformed key file');
      } catch (e) {
        expect(e).toBeInstanceOf(KeyFileError);
        expect((e as KeyFileError).code).toBe('malformed_key_file');
        expect((e as Error).message).not.toContain(secret);
        expect((e as KeyFileError).path).toBe(file);
      }
    }
  });
});
