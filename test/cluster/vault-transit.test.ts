// Vault's transit engine as the key manager will use it: an ed25519 key signs, an independent
// Ed25519 implementation (@noble/ed25519) verifies, and rotation keeps both public key versions.
import * as ed from '@noble/ed25519';
import vault from 'node-vault';
import { describe, expect, it } from 'vitest';

import { clusterInfo } from './harness/context.ts';

interface KeyInfo {
  data: {
    type: string;
    latest_version: number;
    keys: Record<string, { public_key: string }>;
  };
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const unb64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/** `vault:v<N>:<base64>` → [N, signature bytes] */
function parseSignature(sig: string): [number, Uint8Array] {
  const match = /^vault:v(\d+):(.+)$/.exec(sig);
  if (!match?.[1] || !match[2]) throw new Error(`unexpected transit signature format: ${sig}`);
  return [Number(match[1]), unb64(match[2])];
}

describe('Vault transit (ed25519)', () => {
  it('signs, verifies with @noble/ed25519, rotates and keeps both public keys', async () => {
    const info = clusterInfo();
    const client = vault({ apiVersion: 'v1', endpoint: info.vaultAddr, token: info.vaultToken });
    await client.mount({ mount_point: 'transit', type: 'transit' });
    await client.write('transit/keys/agdr-test', { type: 'ed25519' });

    const message = new TextEncoder().encode('agdr checkpoint body\n42\n');
    const signed = (await client.write('transit/sign/agdr-test', { input: b64(message) })) as {
      data: { signature: string };
    };
    const [v1, sig1] = parseSignature(signed.data.signature);
    expect(v1).toBe(1);
    expect(sig1.length).toBe(64);

    const before = (await client.read('transit/keys/agdr-test')) as KeyInfo;
    expect(before.data.type).toBe('ed25519');
    expect(Object.keys(before.data.keys)).toEqual(['1']);
    const pub1 = unb64(before.data.keys['1']!.public_key);
    expect(pub1.length).toBe(32);
    expect(await ed.verifyAsync(sig1, message, pub1)).toBe(true);
    const tampered = message.slice();
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    expect(await ed.verifyAsync(sig1, tampered, pub1)).toBe(false);

    await client.write('transit/keys/agdr-test/rotate', {});
    const after = (await client.read('transit/keys/agdr-test')) as KeyInfo;
    expect(after.data.latest_version).toBe(2);
    expect(Object.keys(after.data.keys).sort()).toEqual(['1', '2']);
    expect(after.data.keys['1']!.public_key).toBe(before.data.keys['1']!.public_key);
    const pub2 = unb64(after.data.keys['2']!.public_key);
    expect(b64(pub2)).not.toBe(b64(pub1));

    const signed2 = (await client.write('transit/sign/agdr-test', { input: b64(message) })) as {
      data: { signature: string };
    };
    const [v2, sig2] = parseSignature(signed2.data.signature);
    expect(v2).toBe(2);
    expect(await ed.verifyAsync(sig2, message, pub2)).toBe(true);
    expect(await ed.verifyAsync(sig2, message, pub1)).toBe(false);
    // Vault's own verify endpoint agrees about the old-version signature.
    const verified = (await client.write('transit/verify/agdr-test', {
      input: b64(message),
      signature: signed.data.signature,
    })) as { data: { valid: boolean } };
    expect(verified.data.valid).toBe(true);
  });
});
