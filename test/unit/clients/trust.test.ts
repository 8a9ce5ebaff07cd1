import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keysForOrigin, validateTrustBundle } from '../../../src/clients/trust.ts';
import { openTrustFile } from '../../../src/coordinator/trust-file.ts';
import type { TrustBundle } from '../../../src/clients/trust.ts';

const bundle: TrustBundle = {
  version: 1,
  keys: [
    {
      role: 'shard',
      shard_id: 0,
      origin: 'o/shard-0',
      verifier_key: 'o/shard-0+00000001+AQ==',
      key_version: 1,
      valid_from_ns: '0',
      valid_until_ns: '2000',
    },
    {
      role: 'shard',
      shard_id: 0,
      origin: 'o/shard-0',
      verifier_key: 'o/shard-0+00000002+AQ==',
      key_version: 2,
      valid_from_ns: '1000',
      valid_until_ns: null,
    },
  ],
};

describe('trust bundle', () => {
  it('selects keys by origin and validity window (rotation overlap)', () => {
    expect(keysForOrigin(bundle, 'o/shard-0', 500n)).toEqual(['o/shard-0+00000001+AQ==']);
    expect(keysForOrigin(bundle, 'o/shard-0', 1500n)).toHaveLength(2);
    expect(keysForOrigin(bundle, 'o/shard-0', 2000n)).toEqual(['o/shard-0+00000002+AQ==']);
    expect(keysForOrigin(bundle, 'o/shard-1', 1500n)).toEqual([]);
  });

  it('rejects malformed entries with the JSON path', () => {
    const bad = structuredClone(bundle) as unknown as { keys: Record<string, unknown>[] };
    (bad.keys[1] as Record<string, unknown>).valid_from_ns = 5;
    expect(() => validateTrustBundle(bad)).toThrow(
      expect.objectContaining({ code: 'bad_trust_bundle', path: '$.keys[1].valid_from_ns' }),
    );
  });

  it('re-reads the file when it changes and keeps the last good bundle on a bad edit', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agdr-trust-'));
    const file = path.join(dir, 'trust.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, keys: [bundle.keys[0]] }));
    const events: string[] = [];
    const trust = openTrustFile(file, (r) => events.push(r));
    expect(trust.current().keys).toHaveLength(1);
    fs.writeFileSync(file, JSON.stringify(bundle) + '\n');
    expect(trust.current().keys).toHaveLength(2);
    fs.writeFileSync(file, '{"version": 1, "keys": [ broken');
    expect(trust.current().keys).toHaveLength(2);
    expect(trust.lastError).toMatch(/not valid JSON/);
    expect(events).toEqual(['ok', 'error']);
    // A deleted file is reported (once), keeps the last good bundle, and is read again when back.
    fs.rmSync(file);
    expect(trust.current().keys).toHaveLength(2);
    expect(trust.current().keys).toHaveLength(2);
    expect(trust.lastError).toMatch(/ENOENT/);
    expect(events).toEqual(['ok', 'error', 'error']);
    fs.writeFileSync(file, JSON.stringify({ version: 1, keys: [bundle.keys[1]] }));
    expect(trust.current().keys).toEqual([bundle.keys[1]]);
    expect(events).toEqual(['ok', 'error', 'error', 'ok']);
    fs.rmSync(dir, { recursive: true });
  });
});
