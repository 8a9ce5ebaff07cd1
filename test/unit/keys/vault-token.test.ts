import { describe, expect, it } from 'vitest';
import { nextTokenStep } from '../../../src/keys/vault-token.ts';

describe('Vault token refresh schedule', () => {
  const login = {
    obtainedAtMs: 1_000_000,
    leaseSeconds: 600,
    renewable: true,
    loginLeaseSeconds: 600,
  };

  it('renews at two thirds of the lease', () => {
    expect(nextTokenStep(login)).toEqual({ kind: 'renew', atMs: 1_000_000 + 400_000 });
  });

  it('logs in again once renewals stop extending the token (max TTL near)', () => {
    expect(nextTokenStep({ ...login, leaseSeconds: 199 })).toEqual({
      kind: 'login',
      atMs: 1_000_000 + Math.round((199_000 * 2) / 3),
    });
    expect(nextTokenStep({ ...login, leaseSeconds: 200 })?.kind).toBe('renew');
  });

  it('logs in again for a token that cannot be renewed', () => {
    expect(nextTokenStep({ ...login, renewable: false })?.kind).toBe('login');
  });

  it('waits at least a second, and never refreshes a token without expiry', () => {
    expect(nextTokenStep({ ...login, leaseSeconds: 1, loginLeaseSeconds: 1 })?.atMs).toBe(
      1_001_000,
    );
    expect(nextTokenStep({ ...login, leaseSeconds: 0 })).toBeUndefined();
  });
});
