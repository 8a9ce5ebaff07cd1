// ServiceAccount token verification: the published JWS vectors (RFC 7515 A.2 RS256, A.3
// ES256, RFC 8037 A.4 EdDSA) must verify and any altered byte must not; tokens shaped like the
// kube-apiserver's, signed here with fresh RSA and EC keys and with @noble/ed25519 (an
// implementation independent of node:crypto), go through the claim checks.
import { generateKeyPairSync } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import {
  claimsOf,
  parseIssuerKeys,
  parseSubjectPattern,
  serviceAccountOf,
  subjectAllowed,
  TokenError,
  verifyJws,
} from '../../../src/core/service-account-token.ts';
import type { IssuerKeys } from '../../../src/core/service-account-token.ts';
import {
  TEST_ISSUER,
  b64json,
  kubeClaims as testClaims,
  nodeSigner,
  type TestSigner,
} from '../../fixtures/sa-tokens.ts';

// RFC 7515 A.2.1 / A.3.1: the payload both examples sign.
const RFC7515_PAYLOAD =
  'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ';
const RFC7515_A2 = {
  jwk: {
    kty: 'RSA',
    n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
    e: 'AQAB',
  },
  token:
    `eyJhbGciOiJSUzI1NiJ9.${RFC7515_PAYLOAD}.` +
    'cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw',
};
const RFC7515_A3 = {
  jwk: {
    kty: 'EC',
    crv: 'P-256',
    x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
    y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  },
  token:
    `eyJhbGciOiJFUzI1NiJ9.${RFC7515_PAYLOAD}.` +
    'DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q',
};
// RFC 8037 A.1 (public key) and A.4 (the JWS of "Example of Ed25519 signing").
const RFC8037_A4 = {
  jwk: { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' },
  token:
    'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.' +
    'hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg',
};

const issuerWith = (...keys: object[]): IssuerKeys =>
  parseIssuerKeys({ issuer: 'https://issuer.example', keys });

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof TokenError) return err.code;
    throw err;
  }
  return 'accepted';
}

/** Flips one bit of the part `which` (0 header, 1 payload, 2 signature) at character `at`. */
function alter(token: string, which: number, at: number): string {
  const parts = token.split('.');
  const bytes = Buffer.from(parts[which] as string, 'base64url');
  const i = at % bytes.length;
  bytes[i] = (bytes[i] as number) ^ 0x01;
  parts[which] = bytes.toString('base64url');
  return parts.join('.');
}

describe('published JWS vectors', () => {
  it.each([
    ['RFC 7515 A.2 (RS256)', RFC7515_A2],
    ['RFC 7515 A.3 (ES256)', RFC7515_A3],
    ['RFC 8037 A.4 (EdDSA)', RFC8037_A4],
  ])('%s verifies, and not once any part is altered', (_name, v) => {
    const keys = issuerWith(v.jwk);
    const jws = verifyJws(v.token, keys);
    expect(typeof jws.header.alg).toBe('string');
    for (const [part, at] of [
      [1, 0],
      [1, 17],
      [2, 0],
      [2, 40],
    ] as const)
      expect(codeOf(() => verifyJws(alter(v.token, part, at), keys))).toBe('bad_signature');
  });

  it('reads the RFC 7515 claims, which name no audience and no ServiceAccount', () => {
    const claims = claimsOf(verifyJws(RFC7515_A3.token, issuerWith(RFC7515_A3.jwk)));
    expect(claims).toEqual({ iss: 'joe', exp: 1300819380, 'http://example.com/is_root': true });
    const expect_ = { issuer: 'joe', audience: 'agdr.dev/ns/c', now: 1300819300 };
    expect(codeOf(() => serviceAccountOf(claims, expect_))).toBe('wrong_audience');
  });

  it('never takes a key of another type or curve for the header alg', () => {
    // The RSA vector's header against the EC key alone: no key fits.
    expect(codeOf(() => verifyJws(RFC7515_A2.token, issuerWith(RFC7515_A3.jwk)))).toBe(
      'unknown_key',
    );
    expect(codeOf(() => verifyJws(RFC8037_A4.token, issuerWith(RFC7515_A2.jwk)))).toBe(
      'unknown_key',
    );
  });
});

const b64 = b64json;

// The synchronous API of @noble/ed25519 needs its SHA-512 given.
ed.hashes.sha512 = sha512;

function nobleSigner(kid: string): TestSigner {
  const secret = ed.utils.randomSecretKey();
  return {
    jwk: {
      kty: 'OKP',
      crv: 'Ed25519',
      x: Buffer.from(ed.getPublicKey(secret)).toString('base64url'),
      kid,
    },
    sign(header, claims) {
      const input = `${b64(header)}.${b64(claims)}`;
      return `${input}.${Buffer.from(ed.sign(Buffer.from(input), secret)).toString('base64url')}`;
    },
  };
}

const NOW = 1_800_000_000;
const ISSUER = TEST_ISSUER;
const AUDIENCE = 'agdr.dev/trading/ledger';

const kubeClaims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...testClaims({ namespace: 'trading', serviceAccount: 'desk', audience: AUDIENCE, iat: NOW }),
  ...over,
});

describe('ServiceAccount tokens', () => {
  const rsa = nodeSigner('rsa', 'rsa-1');
  const ec = nodeSigner('ec', 'ec-1');
  const edd = nobleSigner('ed-1');
  const keys = parseIssuerKeys({ issuer: ISSUER, keys: [rsa.jwk, ec.jwk, edd.jwk] });
  const check = (token: string, now = NOW): unknown =>
    serviceAccountOf(claimsOf(verifyJws(token, keys)), { issuer: ISSUER, audience: AUDIENCE, now });

  it.each([
    ['RS256', rsa, 'rsa-1'],
    ['ES256', ec, 'ec-1'],
    ['EdDSA', edd, 'ed-1'],
  ] as const)('a %s token names its ServiceAccount and pod', (alg, signer, kid) => {
    expect(check(signer.sign({ alg, kid }, kubeClaims()))).toEqual({
      namespace: 'trading',
      serviceAccount: 'desk',
      pod: 'desk-7d9f-abcde',
      expiresAt: NOW + 3600,
    });
  });

  it('finds the key without a kid, and refuses a kid the issuer does not have', () => {
    expect(check(rsa.sign({ alg: 'RS256' }, kubeClaims()))).toMatchObject({ namespace: 'trading' });
    expect(codeOf(() => check(rsa.sign({ alg: 'RS256', kid: 'gone' }, kubeClaims())))).toBe(
      'unknown_key',
    );
  });

  it('refuses a token signed by a key the issuer does not publish', () => {
    const stranger = nodeSigner('rsa', 'rsa-1');
    expect(codeOf(() => check(stranger.sign({ alg: 'RS256', kid: 'rsa-1' }, kubeClaims())))).toBe(
      'bad_signature',
    );
  });

  it('refuses alg none, HMAC, critical extensions and junk', () => {
    const body = `${b64(kubeClaims())}`;
    expect(codeOf(() => check(`${b64({ alg: 'none' })}.${body}.`))).toBe('malformed_token');
    expect(codeOf(() => check(`${b64({ alg: 'none' })}.${body}.AA`))).toBe('unsupported_algorithm');
    expect(codeOf(() => check(`${b64({ alg: 'HS256' })}.${body}.AA`))).toBe(
      'unsupported_algorithm',
    );
    expect(
      codeOf(() => check(rsa.sign({ alg: 'RS256', crit: ['exp'], exp: 1 }, kubeClaims()))),
    ).toBe('unsupported_algorithm');
    for (const junk of ['', 'abc', 'a.b', 'a.b.c.d', 'a+b.c.d', `${'A'.repeat(20_000)}.a.b`])
      expect(codeOf(() => check(junk))).toBe('malformed_token');
  });

  it('refuses an ES256 signature in DER form (JWS wants r || s)', () => {
    const token = ec.sign({ alg: 'ES256', kid: 'ec-1' }, kubeClaims());
    const [h, p] = token.split('.') as [string, string];
    const raw = Buffer.from(token.split('.')[2] as string, 'base64url');
    // r || s re-encoded as a DER SEQUENCE of two INTEGERs (positive: a leading zero if needed).
    const int = (b: Buffer): Buffer => {
      let v = b;
      while (v.length > 1 && v[0] === 0 && (v[1] as number) < 0x80) v = v.subarray(1);
      if ((v[0] as number) >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
      return Buffer.concat([Buffer.from([0x02, v.length]), v]);
    };
    const seq = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
    const der = Buffer.concat([Buffer.from([0x30, seq.length]), seq]);
    expect(codeOf(() => check(`${h}.${p}.${der.toString('base64url')}`))).toBe('bad_signature');
  });

  it('checks issuer, audience, expiry, not-before and the subject', () => {
    const t = (over: Record<string, unknown>): string =>
      rsa.sign({ alg: 'RS256', kid: 'rsa-1' }, kubeClaims(over));
    expect(codeOf(() => check(t({ iss: 'https://other.example' })))).toBe('wrong_issuer');
    expect(codeOf(() => check(t({ aud: ['https://kubernetes.default.svc'] })))).toBe(
      'wrong_audience',
    );
    expect(codeOf(() => check(t({ aud: AUDIENCE })))).toBe('accepted');
    expect(codeOf(() => check(t({ aud: undefined })))).toBe('wrong_audience');
    expect(codeOf(() => check(t({ exp: undefined })))).toBe('malformed_token');
    expect(codeOf(() => check(t({ exp: '1900000000' })))).toBe('malformed_token');
    // 60 s of clock skew either way, as the API server allows.
    expect(codeOf(() => check(t({}), NOW + 3600 + 59))).toBe('accepted');
    expect(codeOf(() => check(t({}), NOW + 3600 + 60))).toBe('expired');
    expect(codeOf(() => check(t({}), NOW - 60))).toBe('accepted');
    expect(codeOf(() => check(t({}), NOW - 61))).toBe('not_yet_valid');
    expect(codeOf(() => check(t({ sub: 'system:node:worker-1' })))).toBe('not_a_service_account');
    expect(codeOf(() => check(t({ sub: 'system:serviceaccount:trading' })))).toBe(
      'not_a_service_account',
    );
  });
});

describe('issuer keys', () => {
  it('refuses private keys, encryption keys, short RSA keys and non-keys, with the path', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const cases: [unknown, RegExp][] = [
      [[], /^\$: must be an object/],
      [{ issuer: '', keys: [] }, /^\$\.issuer: /],
      [{ issuer: 'i', keys: {} }, /^\$\.keys: /],
      [{ issuer: 'i', keys: [{ ...RFC7515_A3.jwk, d: 'x' }] }, /^\$\.keys\[0\]: is a private key/],
      [{ issuer: 'i', keys: [{ ...RFC7515_A3.jwk, use: 'enc' }] }, /^\$\.keys\[0\]\.use: /],
      [{ issuer: 'i', keys: [{ kty: 'oct', k: 'AA' }] }, /^\$\.keys\[0\]\.kty: /],
      [{ issuer: 'i', keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] }, /not a usable/],
      [{ issuer: 'i', keys: [small.publicKey.export({ format: 'jwk' })] }, /1024 bits/],
    ];
    for (const [doc, message] of cases) expect(() => parseIssuerKeys(doc)).toThrow(message);
  });
});

describe('allowed subjects', () => {
  it('matches a ServiceAccount or a whole namespace', () => {
    const allowed = [parseSubjectPattern('trading/desk', 'f'), parseSubjectPattern('audit', 'f')];
    expect(subjectAllowed({ namespace: 'trading', serviceAccount: 'desk' }, allowed)).toBe(true);
    expect(subjectAllowed({ namespace: 'trading', serviceAccount: 'other' }, allowed)).toBe(false);
    expect(subjectAllowed({ namespace: 'audit', serviceAccount: 'any' }, allowed)).toBe(true);
    expect(subjectAllowed({ namespace: 'tradingx', serviceAccount: 'desk' }, allowed)).toBe(false);
  });

  it.each(['', 'Trading', 'a/b/c', 'a/', '-a', 'ns/UPPER'])('refuses %j', (text) => {
    expect(() => parseSubjectPattern(text, '--allow-writer')).toThrow(/^--allow-writer: /);
  });
});
