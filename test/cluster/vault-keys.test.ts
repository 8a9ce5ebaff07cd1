// Per-shard signing keys in the real Vault, used by pod identities the real apiserver issues:
// keys, policies and pod-bound JWT roles as src/keys/vault-plan.ts provisions them; a shard pod
// signs with its own key only; another cluster's pod gets nothing; rotation and trim keep every
// checkpoint ever signed verifiable; a key replaced behind the signer's back fails loudly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as noble from '@noble/ed25519';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { utf8 } from '../../src/core/bytes.ts';
import { shardOrigin, signCheckpoint, verifyCheckpoint } from '../../src/core/checkpoint.ts';
import { verifierKeyString } from '../../src/core/note.ts';
import { TransitError, type TransitKeyVersion } from '../../src/keys/transit.ts';
import { VaultRequestError, VaultSession } from '../../src/keys/vault-client.ts';
import type { SignerKeyPlan } from '../../src/keys/vault-plan.ts';
import {
  applySignerKeyPlan,
  readTransitKey,
  rotateTransitKey,
  trimTransitKey,
} from '../../src/keys/vault-provision.ts';
import { VaultTransitSigner } from '../../src/keys/vault-signer.ts';
import { JwtLogin } from '../../src/keys/vault-token.ts';
import { clusterInfo, clusterKubectl } from './harness/context.ts';
import {
  createSignerPods,
  enableKeyEngines,
  JWT_MOUNT,
  KEYS_CLUSTER as CLUSTER,
  KEYS_MOUNT as MOUNT,
  mintPodToken,
  rootSession,
  SHARD_SERVICE_ACCOUNT as SA,
  testKeysPlan as plan,
} from './harness/vault-identity.ts';

const silent = pino({ level: 'silent' });

const info = clusterInfo();
const kubectl = clusterKubectl();
const root = rootSession(info);
const client = root.client;
const tokenDir = mkdtempSync(join(tmpdir(), 'agdr-vault-jwt-'));
const closers: (() => Promise<void> | void)[] = [];

let nsA: string;
let nsB: string;
let plansA: SignerKeyPlan[];
let plansB: SignerKeyPlan[];
const jwt: Record<string, string> = {};

/** A session logged in as `role` with the pod token in `tokenFile`. */
function podSession(tokenFile: string, role: string): VaultSession {
  const login = new JwtLogin({ client, mount: JWT_MOUNT, role, tokenFile, logger: silent });
  closers.push(() => login.close());
  return new VaultSession(client, login);
}

async function openSigner(session: VaultSession, p: SignerKeyPlan, name: string) {
  const signer = await VaultTransitSigner.open({
    session,
    mount: MOUNT,
    key: p.name,
    name,
    refreshMs: 3_600_000,
    logger: silent,
  });
  closers.push(() => signer.close());
  return signer;
}

async function failure(p: Promise<unknown>): Promise<{ code: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VaultRequestError) return { code: e.code, status: e.status };
    if (e instanceof TransitError) return { code: e.code };
    throw e;
  }
  return { code: 'no error' };
}

const checkpointOf = (origin: string, size: number) => ({
  origin,
  size,
  rootHash: new Uint8Array(32).fill(size),
  timestampNs: 1_773_532_800_000_000_000n + BigInt(size),
});

const verifierOf = (origin: string, v: TransitKeyVersion): string =>
  verifierKeyString(origin, v.publicKey);

beforeAll(async () => {
  await enableKeyEngines(root, info, MOUNT);
  nsA = await kubectl.createNamespace('keys-a');
  nsB = await kubectl.createNamespace('keys-b');
  await createSignerPods(kubectl, nsA, SA, ['desk-shard-0', 'desk-shard-1']);
  await createSignerPods(kubectl, nsB, SA, ['desk-shard-0']);
  plansA = plan(nsA, [0, 1]);
  plansB = plan(nsB, [0]);
  for (const p of [...plansA, ...plansB]) await applySignerKeyPlan(root, p);
  jwt.a0 = await mintPodToken(kubectl, nsA, SA, 'desk-shard-0', tokenDir);
  jwt.a1 = await mintPodToken(kubectl, nsA, SA, 'desk-shard-1', tokenDir);
  jwt.b0 = await mintPodToken(kubectl, nsB, SA, 'desk-shard-0', tokenDir);
});

afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  rmSync(tokenDir, { recursive: true, force: true });
  await kubectl.run(['delete', 'namespace', nsA, nsB, '--wait=false']);
});

describe('Vault transit keys per shard, bound to pod identities', () => {
  it('provisions one non-exportable ed25519 key per shard and the coordinator; the private half never leaves Vault', async () => {
    expect([...plansA, ...plansB].map((p) => p.name)).toEqual([
      `agdr_${nsA}_desk_shard-0`,
      `agdr_${nsA}_desk_shard-1`,
      `agdr_${nsA}_desk_coordinator`,
      `agdr_${nsB}_desk_shard-0`,
      `agdr_${nsB}_desk_coordinator`,
    ]);
    for (const p of plansA) {
      const raw = (await root.read(p.keyPath)).data as Record<string, unknown>;
      expect([raw.type, raw.exportable, raw.allow_plaintext_backup]).toEqual([
        'ed25519',
        false,
        false,
      ]);
      // Not even the root token can take the private key out.
      expect(await failure(root.read(`${MOUNT}/export/signing-key/${p.name}`))).toMatchObject({
        code: 'vault_rejected',
      });
      // Vault answers this one with a 500 that names the rule.
      await expect(root.read(`${MOUNT}/backup/${p.name}`)).rejects.toThrow(
        /exporting is disallowed on the policy/,
      );
    }
    // Provisioning again changes nothing (a reconcile re-runs it).
    const before = await readTransitKey(root, plansA[0]!.keyPath, plansA[0]!.name);
    const again = await applySignerKeyPlan(root, plansA[0]!);
    expect(again.versions).toEqual(before.versions);
  });

  it("a shard pod's identity signs with its own key; signatures verify with Vault's public key", async () => {
    const origin = shardOrigin(nsA, CLUSTER, 0);
    const signer = await openSigner(podSession(jwt.a0!, plansA[0]!.name), plansA[0]!, origin);
    const key = await readTransitKey(root, plansA[0]!.keyPath, plansA[0]!.name);
    expect(signer.keyVersion).toBe(1);
    expect(signer.publicKey).toEqual(key.versions[0]!.publicKey);
    const message = utf8.encode('agdr checkpoint body\n');
    const sig = await signer.sign(message);
    expect(await noble.verifyAsync(sig, message, key.versions[0]!.publicKey)).toBe(true);
    const note = await signCheckpoint(checkpointOf(origin, 7), signer);
    expect(verifyCheckpoint(note, [verifierOf(origin, key.versions[0]!)], origin).size).toBe(7);
  });

  it("shard 1's pod is refused (403) when it asks to sign with, or read, shard 0's key", async () => {
    const s1 = podSession(jwt.a1!, plansA[1]!.name);
    const input = { input: Buffer.from('x').toString('base64') };
    expect(await failure(s1.write(`${MOUNT}/sign/${plansA[0]!.name}`, input))).toEqual({
      code: 'vault_denied',
      status: 403,
    });
    expect(await failure(s1.read(plansA[0]!.keyPath))).toEqual({
      code: 'vault_denied',
      status: 403,
    });
    expect(await failure(openSigner(s1, plansA[0]!, shardOrigin(nsA, CLUSTER, 0)))).toEqual({
      code: 'vault_denied',
      status: 403,
    });
    // It may sign with its own key.
    await s1.write(`${MOUNT}/sign/${plansA[1]!.name}`, input);
    // Nor can it log in as shard 0: the role is bound to the other pod's name.
    const asShard0 = podSession(jwt.a1!, plansA[0]!.name);
    expect(await failure(asShard0.read(plansA[0]!.keyPath))).toEqual({
      code: 'vault_rejected',
      status: 400,
    });
  });

  it("a pod of another cluster (another namespace) is refused the first cluster's role and key", async () => {
    // Same cluster name, same pod and ServiceAccount names, other namespace.
    const intruder = podSession(jwt.b0!, plansA[0]!.name);
    expect(await failure(intruder.read(plansA[0]!.keyPath))).toEqual({
      code: 'vault_rejected',
      status: 400,
    });
    const own = podSession(jwt.b0!, plansB[0]!.name);
    const input = { input: Buffer.from('x').toString('base64') };
    await own.write(`${MOUNT}/sign/${plansB[0]!.name}`, input);
    expect(await failure(own.write(`${MOUNT}/sign/${plansA[0]!.name}`, input))).toEqual({
      code: 'vault_denied',
      status: 403,
    });
    // And the first cluster's pod gets nothing from the second's.
    const back = podSession(jwt.a0!, plansB[0]!.name);
    expect(await failure(back.read(plansB[0]!.keyPath))).toEqual({
      code: 'vault_rejected',
      status: 400,
    });
  });

  it("renews the pod's Vault token before it expires, and logs in again as max TTL nears", async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = pino(
      { level: 'debug' },
      { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) },
    );
    // The shard 0 role with a 3 s token TTL and a 9 s max TTL.
    const role = `${plansA[0]!.name}-short`;
    await root.write(`auth/${JWT_MOUNT}/role/${role}`, {
      ...plansA[0]!.role,
      token_ttl: 3,
      token_max_ttl: 9,
    });
    const login = new JwtLogin({ client, mount: JWT_MOUNT, role, tokenFile: jwt.a0!, logger });
    closers.push(() => login.close());
    const session = new VaultSession(client, login);
    const input = { input: Buffer.from('x').toString('base64') };
    for (const until = Date.now() + 14_000; Date.now() < until;) {
      await session.write(`${MOUNT}/sign/${plansA[0]!.name}`, input);
      await new Promise((r) => setTimeout(r, 250));
    }
    const msgs = lines.map((l) => l.msg);
    expect(msgs.filter((m) => m === 'renewed Vault token').length).toBeGreaterThanOrEqual(2);
    expect(msgs.filter((m) => m === 'logged in to Vault').length).toBeGreaterThanOrEqual(2);
    // Every refresh happened on schedule: no failed renewal or login, no expired token used.
    expect(lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('rotation: new checkpoints carry the new version; trim: Vault cannot sign with old versions, old checkpoints still verify', async () => {
    const p = plansA[1]!;
    const origin = shardOrigin(nsA, CLUSTER, 1);
    const signer = await openSigner(podSession(jwt.a1!, p.name), p, origin);
    const notes = [await signCheckpoint(checkpointOf(origin, 1), signer)];
    expect(signer.keyVersion).toBe(1);

    const rotated = await rotateTransitKey(root, p.keyPath, p.name);
    expect(rotated.latestVersion).toBe(2);
    await signer.refresh();
    expect(signer.keyVersion).toBe(2);
    expect(signer.versions.map((v) => v.keyVersion)).toEqual([1, 2]);
    notes.push(await signCheckpoint(checkpointOf(origin, 2), signer));
    const [v1, v2] = rotated.versions as [TransitKeyVersion, TransitKeyVersion];
    expect(verifyCheckpoint(notes[0]!, [verifierOf(origin, v1)], origin).size).toBe(1);
    expect(verifyCheckpoint(notes[1]!, [verifierOf(origin, v2)], origin).size).toBe(2);
    expect(() => verifyCheckpoint(notes[1]!, [verifierOf(origin, v1)], origin)).toThrow();

    // Third version, then keep only the newest: versions 1 and 2 are gone from Vault.
    await rotateTransitKey(root, p.keyPath, p.name);
    const trimmed = await trimTransitKey(root, p.keyPath, p.name, 1);
    expect(trimmed?.minVersion).toBe(3);
    expect(trimmed?.removed.map((v) => v.version)).toEqual([1, 2]);
    const after = await readTransitKey(root, p.keyPath, p.name);
    expect(after.versions.map((v) => v.version)).toEqual([3]);
    const input = Buffer.from('x').toString('base64');
    // Vault 1.21 answers a signing below min_encryption_version with a 500 naming the rule.
    const belowMin = /less than the minimum encryption key version/;
    for (const key_version of [1, 2]) {
      await expect(root.write(`${MOUNT}/sign/${p.name}`, { input, key_version })).rejects.toThrow(
        belowMin,
      );
    }
    // The signer still pinned to version 2 is refused, learns version 3, and signs with it.
    await expect(signCheckpoint(checkpointOf(origin, 3), signer)).rejects.toThrow(belowMin);
    await signer.refresh();
    expect(signer.keyVersion).toBe(3);
    notes.push(await signCheckpoint(checkpointOf(origin, 3), signer));
    // Every checkpoint ever signed verifies with the public keys held outside Vault.
    const history = [...trimmed!.removed, ...after.versions].map((v) => verifierOf(origin, v));
    expect(notes.map((n) => verifyCheckpoint(n, history, origin).size)).toEqual([1, 2, 3]);
    // Nothing trimmed can be brought back.
    expect(await trimTransitKey(root, p.keyPath, p.name, 1)).toBeUndefined();
  });

  it('a key replaced in Vault behind the signer fails loudly, never signs silently with an unknown key', async () => {
    const name = `agdr_${nsA}_desk_shard-9`;
    const keyPath = `${MOUNT}/keys/${name}`;
    await root.write(keyPath, { type: 'ed25519', exportable: false });
    const origin = shardOrigin(nsA, CLUSTER, 9);
    const signer = await openSigner(root, { ...plansA[0]!, name, keyPath }, origin);
    await signCheckpoint(checkpointOf(origin, 1), signer);
    await root.write(`${keyPath}/config`, { deletion_allowed: true });
    await root.delete(keyPath);
    await root.write(keyPath, { type: 'ed25519', exportable: false });
    expect(await failure(signCheckpoint(checkpointOf(origin, 2), signer))).toEqual({
      code: 'signature_invalid',
    });
    expect(await failure(signer.refresh())).toEqual({ code: 'key_replaced' });
    // An exportable key is refused outright.
    const loose = `agdr_${nsA}_desk_shard-8`;
    await root.write(`${MOUNT}/keys/${loose}`, { type: 'ed25519', exportable: true });
    expect(
      await failure(
        openSigner(root, { ...plansA[0]!, name: loose, keyPath: `${MOUNT}/keys/${loose}` }, origin),
      ),
    ).toEqual({ code: 'key_exportable' });
  });
});
