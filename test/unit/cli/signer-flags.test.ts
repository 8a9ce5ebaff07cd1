import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/command.ts';
import { DEFAULT_VAULT_JWT_FILE, parseSignerFlags } from '../../../src/cli/signer-flags.ts';

function usage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  return 'no error';
}

describe('signer flags', () => {
  it('default to a key file', () => {
    expect(parseSignerFlags({})).toEqual({ kind: 'file' });
    expect(parseSignerFlags({ signer: 'file', 'vault-transit-mount': 'transit' })).toEqual({
      kind: 'file',
    });
  });

  it('read a Vault JWT login with its defaults', () => {
    expect(
      parseSignerFlags({
        signer: 'vault',
        'vault-addr': 'https://vault.vault.svc:8200',
        'vault-role': 'agdr_ns_c_shard-0',
        'vault-transit-mount': '/kv/transit/',
      }),
    ).toEqual({
      kind: 'vault',
      address: 'https://vault.vault.svc:8200',
      caFile: undefined,
      mount: 'kv/transit',
      key: undefined,
      login: {
        kind: 'jwt',
        role: 'agdr_ns_c_shard-0',
        jwtFile: DEFAULT_VAULT_JWT_FILE,
        mount: 'jwt',
      },
      timeoutMs: 5000,
      refreshMs: 60_000,
      activationMs: 0,
    });
  });

  it('read the key activation delay (0 for none)', () => {
    const base = { signer: 'vault', 'vault-addr': 'http://v:8200', 'vault-role': 'r' };
    const of = (v: string) => {
      const f = parseSignerFlags({ ...base, 'vault-key-activation': v });
      return f.kind === 'vault' ? f.activationMs : undefined;
    };
    expect([of('2m'), of('0'), of('0s')]).toEqual([120_000, 0, 0]);
    expect(usage(() => of('soon'))).toContain('--vault-key-activation');
  });

  it('read a development token file instead of a role', () => {
    const f = parseSignerFlags({
      signer: 'vault',
      'vault-addr': 'http://127.0.0.1:8200',
      'vault-token': '/tmp/t',
      'vault-key': 'k',
      'vault-timeout': '2s',
    });
    expect(f.kind === 'vault' && [f.login, f.key, f.timeoutMs]).toEqual([
      { kind: 'token', tokenFile: '/tmp/t' },
      'k',
      2000,
    ]);
  });

  it('refuse incomplete or contradictory Vault settings, naming the flag', () => {
    expect(usage(() => parseSignerFlags({ signer: 'hsm' }))).toContain('--signer');
    expect(usage(() => parseSignerFlags({ 'vault-addr': 'http://v:8200' }))).toBe(
      '--vault-addr needs --signer vault',
    );
    expect(usage(() => parseSignerFlags({ signer: 'vault', 'vault-role': 'r' }))).toContain(
      '--vault-addr is required',
    );
    const addr = { signer: 'vault', 'vault-addr': 'http://v:8200' };
    expect(usage(() => parseSignerFlags({ ...addr, 'vault-role': 'r', key: '/k.json' }))).toBe(
      '--key is a key file: it needs --signer file',
    );
    expect(usage(() => parseSignerFlags(addr))).toContain('exactly one of');
    expect(
      usage(() => parseSignerFlags({ ...addr, 'vault-role': 'r', 'vault-token': '/t' })),
    ).toContain('exactly one of');
    expect(
      usage(() => parseSignerFlags({ ...addr, 'vault-addr': 'vault:8200', 'vault-role': 'r' })),
    ).toContain('--vault-addr');
    expect(
      usage(() => parseSignerFlags({ ...addr, 'vault-role': 'r', 'vault-transit-mount': 'a b' })),
    ).toContain('--vault-transit-mount');
  });
});
