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
    expect(nextTokenStep({ ...login, leaseSeconds: 300 })).toEqual({
      kind: 'login',
      atMs: 1_000_000 + 200_000,
    });
    expect(nextTokenStep({ ...login, leaseSeconds: 301 })?.kind).toBe('renew');
    // A 3 s login lease: a renewal that gives 1 s (max TTL near) leads to a login, not a renewal.
    const short = { obtainedAtMs: 0, renewable: true, loginLeaseSeconds: 3 };
    expect(nextTokenStep({ ...short, leaseSeconds: 3 })).toEqual({ kind: 'renew', atMs: 2000 });
    expect(nextTokenStep({ ...short, leaseSeconds: 1 })).toEqual({ kind: 'login', atMs: 667 });
  });

  it('logs in again for a token that cannot be renewed', () => {
    expect(nextTokenStep({ ...login, renewable: false })?.kind).toBe('login');
  });

  it('refreshes before expiry even for a one-second lease, and never a token without expiry', () => {
    expect(nextTokenStep({ ...login, leaseSeconds: 1, loginLeaseSeconds: 1 })?.atMs).toBe(
      1_000_667,
    );
    expect(nextTokenStep({ ...login, leaseSeconds: 0 })).toBeUndefined();
  });
});
