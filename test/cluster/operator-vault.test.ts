// `agdr operator` with keys.provider vault, end to end: the operator logs in to the real Vault
// with its own ServiceAccount token and a policy limited to its namespace's key prefix, creates
// one transit key, policy and pod-bound role per shard and for the coordinator, and the pod
// runner runs the shard and coordinator pods as real `agdr` processes that log in with their
// projected tokens and sign through Vault. Then rotation and trim at a 1-minute interval (one
// shard idle throughout: it moves to the new version without a write, the trim waits for that,
// its key history stays unbroken and the coordinator keeps it sealed), and a sweep of every
// Secret, ConfigMap, status and log for key material and tokens.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { CoordinatorClient, type GlobalLogEntry } from '../../src/clients/coordinator-api.ts';
import { ShardClient, type ShardReceipt } from '../../src/clients/shard-api.ts';
import { validateTrustBundle, type TrustBundle } from '../../src/clients/trust.ts';
import { toBase64 } from '../../src/core/bytes.ts';
import { coordinatorOrigin, shardOrigin, verifyCheckpoint } from '../../src/core/checkpoint.ts';
import { firstKeyAnchor, followKeyHistory } from '../../src/core/key-history.ts';
import { verifyGlobalRootRecord, type GlobalRootRecord } from '../../src/core/global-root/index.ts';
import type { EpochTable } from '../../src/core/routing.ts';
import type { TransitKeyInfo } from '../../src/keys/transit.ts';
import { VaultClient, VaultRequestError } from '../../src/keys/vault-client.ts';
import { transitKeyName } from '../../src/keys/vault-plan.ts';
import { readTransitKey } from '../../src/keys/vault-provision.ts';
import { decisionsFor, ndjson, request } from '../integration/shard/shard-process.ts';
import { agdrCli, submitProveVerify } from './harness/agdr-cli.ts';
import {
  applyCrd,
  clusterEventReasons,
  clusterRoutingTable,
  startOperator,
  type OperatorProcess,
} from './harness/agdr-operator.ts';
import { clusterInfo, clusterKubectl, containerLogPath } from './harness/context.ts';
import { AGDR_TEST_IMAGE } from './harness/pod-runner/launch.ts';
import {
  createOperatorRole,
  createSignerPods,
  enableKeyEngines,
  JWT_MOUNT,
  mintPodToken,
  mintServiceAccountToken,
  rootSession,
} from './harness/vault-identity.ts';
import { projectedVaultTokens, verifierOf } from './harness/vault-keys.ts';

/** A transit mount of this test's own. */
const MOUNT = 'agdr-operator-keys';
const NAME = 'desk';
const SHARDS = 2;

const info = clusterInfo();
const k = clusterKubectl();
const root = rootSession(info);
const work = mkdtempSync(join(tmpdir(), 'agdr-operator-vault-'));

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface ClusterStatus {
  readyShards?: number;
  conditions?: Condition[];
  shardStatus?: { id: number; keyVersion?: number; publicKey?: string }[];
  keys?: { readyForShards?: number; coordinatorKeyVersion?: number; lastRotation?: string };
}

let ns = '';
let operator: OperatorProcess | undefined;
let operatorJwt = '';
let table: EpochTable;

const status = async (): Promise<ClusterStatus> =>
  (await k.getJson<{ status?: ClusterStatus }>(['agdr', NAME, '-n', ns])).status ?? {};
const condition = async (type: string): Promise<Condition | undefined> =>
  (await status()).conditions?.find((c) => c.type === type);
const keyName = (c: { shard: number } | 'coordinator'): string => transitKeyName(ns, NAME, c);
const vaultKey = (c: { shard: number } | 'coordinator'): Promise<TransitKeyInfo> =>
  readTransitKey(root, `${MOUNT}/keys/${keyName(c)}`, keyName(c));
const trust = async (): Promise<TrustBundle> =>
  validateTrustBundle(
    JSON.parse(
      (await k.getJson<{ data: Record<string, string> }>(['configmap', `${NAME}-trust`, '-n', ns]))
        .data['trust.json'] as string,
    ),
  );
const pod = (name: string): Promise<V1Pod> => k.getJson<V1Pod>(['pod', name, '-n', ns]);
const podUrl = async (name: string, port: number): Promise<string> =>
  `http://${(await pod(name)).status?.podIP ?? '?'}:${port}`;
const coordinatorPod = async (): Promise<V1Pod> => {
  const pods = await k.getJson<{ items: V1Pod[] }>([
    'pods',
    '-n',
    ns,
    '-l',
    `app.kubernetes.io/instance=${NAME},app.kubernetes.io/component=coordinator`,
  ]);
  const p = pods.items.find((x) => x.metadata?.deletionTimestamp === undefined);
  if (p === undefined) throw new Error('no coordinator pod');
  return p;
};
const coordinatorUrl = async (): Promise<string> =>
  `http://${(await coordinatorPod()).status?.podIP ?? '?'}:7070`;
const eventReasons = (): Promise<string[]> => clusterEventReasons(k, ns, NAME);

let sent = 0;
/**
 * Appends `n` decisions to each of `shards` directly (acknowledged = in its log); returns the
 * record ids.
 */
async function ingest(
  n: number,
  shards: readonly number[] = Array.from({ length: SHARDS }, (_, i) => i),
): Promise<string[]> {
  const ids: string[] = [];
  for (const shard of shards) {
    const res = await request<{ receipts: ShardReceipt[] }>(
      `${await podUrl(`${NAME}-shard-${shard}`, 7071)}/v1/decisions:batch`,
      {
        body: ndjson(decisionsFor(table, shard, n, { tag: `v${sent}`, from: sent * 1000 })),
        type: 'application/x-ndjson',
      },
    );
    expect(res.status).toBe(200);
    ids.push(...res.body.receipts.map((r) => r.record_id));
  }
  sent++;
  return ids;
}

/** A shard's latest checkpoint note. */
const shardCheckpoint = async (shard: number): Promise<string> =>
  (await request<string>(`${await podUrl(`${NAME}-shard-${shard}`, 7071)}/v1/checkpoint`)).text;

async function latestGlobalRoot(): Promise<GlobalRootRecord> {
  const res = await request<GlobalLogEntry<GlobalRootRecord>>(
    `${await coordinatorUrl()}/v1/global-roots/latest`,
  );
  expect(res.status).toBe(200);
  return res.body.record;
}

/** `agdr submit`, `prove` and `verify` (pinned to today's trust bundle) in `work/<dir>`. */
async function proveAndVerify(dir: string): Promise<void> {
  mkdirSync(join(work, dir));
  await submitProveVerify(join(work, dir), await coordinatorUrl(), JSON.stringify(await trust()));
}

beforeAll(async () => {
  await applyCrd(k);
  await enableKeyEngines(root, info, MOUNT);
  ns = await k.createNamespace('operator-vault');
  // The administrator's part: the operator's role, limited to this namespace's key prefix.
  const role = await createOperatorRole(root, ns, 'agdr-operator', MOUNT);
  const jwtFile = await mintServiceAccountToken(k, ns, 'agdr-operator', work);
  operatorJwt = readFileSync(jwtFile, 'utf8').trim();
  operator = await startOperator('vault', ns, [
    ...['--default-image', AGDR_TEST_IMAGE, '--vault-addr', info.vaultAddr],
    ...['--vault-role', role, '--vault-jwt', jwtFile],
    // New versions sign after 10 s (the pod runner refreshes mounted ConfigMaps at once).
    ...['--vault-key-activation', '10s'],
  ]);
});

afterAll(async () => {
  await operator?.stop();
  await k.run(['delete', 'agdr', NAME, '-n', ns, '--wait=false']).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

describe('agdr operator with keys.provider vault', () => {
  it('comes up with keys it created in Vault; checkpoints and global roots verify with them', async () => {
    await k.apply(
      stringify({
        apiVersion: 'agdr.dev/v1alpha1',
        kind: 'AgDRCluster',
        metadata: { name: NAME, namespace: ns },
        spec: {
          shards: SHARDS,
          aggregation: { interval: '1s' },
          keys: {
            provider: 'vault',
            vault: { transitMount: MOUNT },
            rotation: { interval: '720h', retainVersions: 1 },
          },
          storage: { size: '1Gi' },
        },
      }),
    );
    const applied = Date.now();
    await k.waitFor(
      'Ready with 2 shards',
      async () => {
        const s = await status();
        const ready = s.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === 'True' && s.readyShards === SHARDS
          ? null
          : JSON.stringify(s.conditions ?? []);
      },
      180_000,
    );
    console.log(`apply to Ready (vault keys, 2 shards): ${(Date.now() - applied) / 1000} s`);
    const s = await status();
    expect(await condition('KeysReady')).toMatchObject({
      status: 'True',
      reason: 'KeysProvisioned',
    });
    expect(await condition('VaultUnavailable')).toMatchObject({ status: 'False' });
    expect(s.keys).toMatchObject({ readyForShards: SHARDS, coordinatorKeyVersion: 1 });
    expect(await eventReasons()).toContain('KeysReady');

    // The keys exist in Vault, never exportable; the trust bundle lists exactly their public keys.
    const bundle = await trust();
    for (let shard = 0; shard < SHARDS; shard++) {
      const key = await vaultKey({ shard });
      const origin = shardOrigin(ns, NAME, shard);
      expect(key.versions.map((v) => v.version)).toEqual([1]);
      expect(bundle.keys.filter((x) => x.origin === origin).map((x) => x.verifier_key)).toEqual([
        verifierOf(key, origin, 1),
      ]);
      expect(s.shardStatus?.find((x) => x.id === shard)?.publicKey).toBe(
        verifierOf(key, origin, 1),
      );
    }
    const exported = await root.read(`${MOUNT}/export/signing-key/${keyName({ shard: 0 })}`).then(
      () => 'exported',
      (err: unknown) => (err as VaultRequestError).code,
    );
    expect(exported).toBe('vault_rejected');

    // No key Secret, and the pods run `--signer vault` with a projected token, no key file.
    const secrets = await k.getJson<{ items: { metadata: { name: string } }[] }>([
      'secrets',
      '-n',
      ns,
      '-l',
      `app.kubernetes.io/instance=${NAME}`,
    ]);
    expect(secrets.items).toEqual([]);
    const shard0 = await pod(`${NAME}-shard-0`);
    expect(shard0.spec?.containers[0]?.args).toEqual(
      expect.arrayContaining([
        '--signer',
        'vault',
        '--vault-role',
        `agdr_${ns}_${NAME}_shard-$(SHARD_ID)`,
      ]),
    );

    // Checkpoints and global roots verify with the public keys Vault reports.
    table = await clusterRoutingTable(k, ns, NAME);
    await ingest(20);
    const shardKeys: string[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      const origin = shardOrigin(ns, NAME, shard);
      const verifier = verifierOf(await vaultKey({ shard }), origin, 1);
      shardKeys.push(verifier);
      await k.waitFor(
        `shard ${shard} checkpoint of 20`,
        async () => {
          const note = (
            await request<string>(`${await podUrl(`${NAME}-shard-${shard}`, 7071)}/v1/checkpoint`)
          ).text;
          return verifyCheckpoint(note, [verifier], origin).size >= 20 ? null : 'smaller';
        },
        30_000,
      );
    }
    const coordVerifier = verifierOf(await vaultKey('coordinator'), coordinatorOrigin(ns, NAME), 1);
    const sealed = await k
      .waitFor(
        'a global root sealing both shards at 20',
        async () => {
          const r = await latestGlobalRoot();
          return r.shard_roots.every((e) => e.status === 'ok' && e.tree_size >= 20)
            ? null
            : JSON.stringify(r.shard_roots.map((e) => [e.status, e.tree_size]));
        },
        60_000,
      )
      .then(latestGlobalRoot);
    expect(sealed.signature.key_version).toBe(1);
    verifyGlobalRootRecord(sealed, [coordVerifier], { shardKeys });
    await proveAndVerify('before-rotation');
  });

  it('refuses a shard pod the key of another shard, and a pod of another cluster its roles', async () => {
    const dir = mkdtempSync(join(work, 'jwt-'));
    // Shard 1's own pod token: its role logs in, shard 0's key is refused (403).
    const jwt1 = await mintPodToken(k, ns, `${NAME}-shard`, `${NAME}-shard-1`, dir);
    const client = new VaultClient({ address: info.vaultAddr, timeoutMs: 5_000 });
    const login = (role: string, file: string) =>
      client.request('write', `auth/${JWT_MOUNT}/login`, undefined, {
        role,
        jwt: readFileSync(file, 'utf8').trim(),
      });
    const token = ((await login(keyName({ shard: 1 }), jwt1)).auth as { client_token: string })
      .client_token;
    const sign = (key: string) =>
      client.request('write', `${MOUNT}/sign/${key}`, token, {
        input: toBase64(new Uint8Array(8)),
      });
    await expect(sign(keyName({ shard: 1 }))).resolves.toBeDefined();
    await expect(sign(keyName({ shard: 0 }))).rejects.toMatchObject({ status: 403 });
    await expect(sign(keyName('coordinator'))).rejects.toMatchObject({ status: 403 });
    await expect(login(keyName({ shard: 0 }), jwt1)).rejects.toBeInstanceOf(VaultRequestError);
    await client.request('write', 'auth/token/revoke-self', token, {});

    // A pod of another cluster with the same cluster, pod and ServiceAccount names.
    const other = await k.createNamespace('operator-vault-other');
    await createSignerPods(k, other, `${NAME}-shard`, [`${NAME}-shard-0`]);
    const jwtOther = await mintPodToken(k, other, `${NAME}-shard`, `${NAME}-shard-0`, dir);
    await expect(login(keyName({ shard: 0 }), jwtOther)).rejects.toMatchObject({ status: 400 });
    await k.run(['delete', 'namespace', other, '--wait=false']);
  });

  it('rotates at the interval: new checkpoints carry the new version, old bundles verify, trimmed versions cannot sign; an idle shard keeps an unbroken key history and stays sealed', async () => {
    const before = await vaultKey({ shard: 0 });
    // Shard 1 gets no write from here until after the trim: its latest checkpoint is by version 1.
    const IDLE = 1;
    const idleOrigin = shardOrigin(ns, NAME, IDLE);
    const idleV1 = verifierOf(await vaultKey({ shard: IDLE }), idleOrigin, 1);
    const coordV1 = verifierOf(await vaultKey('coordinator'), coordinatorOrigin(ns, NAME), 1);
    const idleBefore = verifyCheckpoint(await shardCheckpoint(IDLE), [idleV1], idleOrigin);
    const degradedBefore = (await eventReasons()).filter((r) => r === 'Degraded').length;
    await k.run([
      ...['patch', 'agdr', NAME, '-n', ns, '--type', 'merge', '-p'],
      JSON.stringify({ spec: { keys: { rotation: { interval: '1m' } } } }),
    ]);
    const createdMs = Date.parse(before.versions[0]!.createdAt);
    console.log(`rotation due in ${Math.max(0, createdMs + 60_000 - Date.now()) / 1000} s`);
    // Every key gets version 2 and, keeping one version, loses version 1 (published first).
    await k.waitFor(
      'every key at version 2 with version 1 trimmed',
      async () => {
        const keys = await Promise.all(
          [{ shard: 0 }, { shard: 1 }, 'coordinator' as const].map((c) => vaultKey(c)),
        );
        const left = keys.map((x) => `${x.name}:${x.versions.map((v) => v.version).join(',')}`);
        return keys.every((x) => x.latestVersion === 2 && x.minAvailableVersion === 2)
          ? null
          : left.join(' ');
      },
      150_000,
    );
    // No version 3 while the rest is checked.
    await k.run([
      ...['patch', 'agdr', NAME, '-n', ns, '--type', 'merge', '-p'],
      JSON.stringify({ spec: { keys: { rotation: { interval: '720h' } } } }),
    ]);
    await k.waitFor(
      'KeyRotated and KeysTrimmed Events',
      async () => {
        const r = await eventReasons();
        return r.includes('KeyRotated') && r.includes('KeysTrimmed') ? null : r.join(',');
      },
      30_000,
    );
    expect(await condition('KeyRotated')).toMatchObject({ status: 'True', reason: 'Rotated' });

    // The trust bundle holds both versions; version 1's window is closed.
    const bundle = await trust();
    const origin0 = shardOrigin(ns, NAME, 0);
    const v1 = bundle.keys.find((x) => x.origin === origin0 && x.key_version === 1);
    const v2 = bundle.keys.find((x) => x.origin === origin0 && x.key_version === 2);
    expect(v1?.verifier_key).toBe(verifierOf(before, origin0, 1));
    expect(v1?.valid_until_ns).toMatch(/^\d+$/);
    expect(v2?.valid_until_ns).toBeNull();
    expect(v2?.verifier_key).toBe(verifierOf(await vaultKey({ shard: 0 }), origin0, 2));

    // Vault no longer signs with version 1, not even for the root token.
    const refused = await root
      .write(`${MOUNT}/sign/${keyName({ shard: 0 })}`, {
        input: toBase64(new Uint8Array(8)),
        key_version: 1,
      })
      .then(
        () => 'signed',
        (err: unknown) => (err as VaultRequestError).code,
      );
    expect(['vault_rejected', 'vault_failed']).toContain(refused);

    // New checkpoints and global roots carry version 2; the idle shard signed its unchanged
    // tree again with version 2 (the operator trimmed version 1 only after it did).
    const shardKeys = bundle.keys.filter((x) => x.role === 'shard').map((x) => x.verifier_key);
    const coordV2 = verifierOf(await vaultKey('coordinator'), coordinatorOrigin(ns, NAME), 2);
    const idleV2 = verifierOf(await vaultKey({ shard: IDLE }), idleOrigin, 2);
    const idleNow = verifyCheckpoint(await shardCheckpoint(IDLE), [idleV2], idleOrigin);
    expect([idleNow.size, idleNow.rootHash]).toEqual([idleBefore.size, idleBefore.rootHash]);
    await k.waitFor(
      'shards and coordinator signing with version 2',
      async () => {
        await ingest(5, [0]);
        for (let shard = 0; shard < SHARDS; shard++) {
          const origin = shardOrigin(ns, NAME, shard);
          const v = verifierOf(await vaultKey({ shard }), origin, 2);
          try {
            verifyCheckpoint(await shardCheckpoint(shard), [v], origin);
          } catch {
            return `shard ${shard} not yet on version 2`;
          }
        }
        const r = await latestGlobalRoot();
        if (r.signature.key_version !== 2) return 'coordinator not yet on version 2';
        if (!r.shard_roots.every((e) => e.status === 'ok')) return 'not every shard sealed ok';
        verifyGlobalRootRecord(r, [coordV2], { shardKeys });
        return null;
      },
      90_000,
    );
    // The idle shard's key history is unbroken: from its first key alone it pins version 2
    // from the transition on, which version 1 signed before it was trimmed.
    const idleHistory = await new ShardClient(
      await podUrl(`${NAME}-shard-${IDLE}`, 7071),
      10_000,
    ).keyHistory();
    const pinned = followKeyHistory([firstKeyAnchor(idleV1)], idleHistory.transitions);
    expect(pinned.map((a) => a.verifier_key)).toEqual([idleV1, idleV2]);
    const switchedNs = BigInt(pinned[1]!.valid_from_ns);
    expect(idleBefore.timestampNs! < switchedNs && switchedNs <= idleNow.timestampNs!).toBe(true);

    // A bundle from before the rotation verifies with today's trust bundle, and a new one too.
    writeFileSync(join(work, 'trust.json'), JSON.stringify(await trust()));
    const old = await agdrCli(work, [
      'verify',
      'before-rotation/bundle.json',
      '--trust',
      'trust.json',
    ]);
    expect(old.stdout + old.stderr).toMatch(/\bVERIFIED\b/);

    // The coordinator keeps sealing the idle shard once version 1's window has closed: a round
    // after it finds the shard ok at its unchanged size, nothing missing.
    const v1Until = BigInt(
      (await trust()).keys.find((x) => x.origin === idleOrigin && x.key_version === 1)!
        .valid_until_ns!,
    );
    const sealedAfter = await k
      .waitFor(
        "a global root after version 1's window closed",
        async () => {
          const r = await latestGlobalRoot();
          // Its round read the clock (and chose the valid keys) after its interval started.
          return BigInt(r.interval_start_ns) > v1Until ? null : `from ${r.interval_start_ns}`;
        },
        90_000,
      )
      .then(latestGlobalRoot);
    expect(sealedAfter.shard_roots.find((e) => e.shard_id === IDLE)).toMatchObject({
      status: 'ok',
      tree_size: idleBefore.size,
    });
    const coordinator = new CoordinatorClient(await coordinatorUrl(), 10_000);
    expect((await coordinator.shards()).find((v) => v.shard_id === IDLE)).toMatchObject({
      status: 'ok',
      open_intervals: 0,
    });
    expect((await coordinator.missing()).open.filter((o) => o.shard_id === IDLE)).toEqual([]);

    // A later write to the idle shard proves, and verifies from the first keys and the key
    // histories alone (version 1 of every key, the only one pinned, is trimmed).
    const [written] = await ingest(3, [IDLE]);
    mkdirSync(join(work, 'idle'));
    await agdrCli(join(work, 'idle'), [
      ...['prove', '--coordinator', await coordinatorUrl(), '--record-id', written!],
      ...['--out', 'bundle.json', '--wait', '30s'],
    ]);
    writeFileSync(join(work, 'idle', 'shard.json'), JSON.stringify(idleHistory));
    const coordHistory = await coordinator.keyHistory();
    expect(coordHistory.transitions).toHaveLength(1);
    writeFileSync(join(work, 'idle', 'coordinator.json'), JSON.stringify(coordHistory));
    const idleVerified = await agdrCli(join(work, 'idle'), [
      ...['verify', 'bundle.json', '--trust-key', idleV1, '--key-history', 'shard.json'],
      ...['--trust-key', coordV1, '--key-history', 'coordinator.json'],
    ]);
    expect(idleVerified.stdout + idleVerified.stderr).toMatch(/\bVERIFIED\b/);
    await proveAndVerify('after-rotation');
    expect((await status()).keys?.coordinatorKeyVersion).toBe(2);
    // The new versions were published before anyone signed with them: no round found a
    // checkpoint it could not verify, the cluster never degraded.
    expect((await eventReasons()).filter((r) => r === 'Degraded').length).toBe(degradedBefore);
  });

  it('leaves no private key material or token in any Secret, ConfigMap, status or log', async () => {
    const texts: [string, string][] = [];
    for (const kind of ['secrets', 'configmaps', 'agdrclusters', 'events.events.k8s.io']) {
      texts.push([kind, await k.run(['get', kind, '-n', ns, '-o', 'json'])]);
    }
    texts.push(['operator log', readFileSync(join(info.logDir, 'operator-vault.log'), 'utf8')]);
    const pods = await k.getJson<{ items: V1Pod[] }>([
      'pods',
      '-n',
      ns,
      '-l',
      `app.kubernetes.io/instance=${NAME}`,
    ]);
    for (const p of pods.items) {
      for (const c of p.status?.containerStatuses ?? []) {
        for (let restart = 0; restart <= (c.restartCount ?? 0); restart++) {
          const file = containerLogPath(p, c.name, restart);
          texts.push([`${p.metadata?.name} log ${restart}`, readFileSync(file, 'utf8')]);
        }
      }
    }
    texts.push(['vault log', readFileSync(join(info.logDir, 'vault.log'), 'utf8')]);
    expect(texts.length).toBeGreaterThan(6);
    // The projected tokens the pods hold (their files under the pod runner's root).
    const podJwts = pods.items.flatMap(projectedVaultTokens);
    expect(podJwts.length).toBeGreaterThanOrEqual(SHARDS + 1);
    const secrets = [operatorJwt, info.vaultToken, ...podJwts];
    for (const [what, text] of texts) {
      for (const s of secrets) expect(text.includes(s), `${what} holds a token`).toBe(false);
      expect(text, what).not.toMatch(/\bhv[sb]\.[A-Za-z0-9_-]{20,}/);
      expect(text, what).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
      expect(text, what).not.toMatch(/PRIVATE KEY|private_key|"seed"/);
    }
    // The operator did log in and provision (the sweep read real logs).
    expect(texts.find(([w]) => w === 'operator log')?.[1]).toContain('logged in to Vault');
  });
});
