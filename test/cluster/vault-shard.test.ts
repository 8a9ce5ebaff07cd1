// A real `agdr shard` process signing its checkpoints with its Vault transit key, logged in with
// a pod-bound ServiceAccount token, and a real `agdr coordinator` sealing it with its own Vault
// key (development token login). Vault is stopped for 60 s during steady ingest: no request
// fails, nothing acknowledged is lost, and once Vault is back the shard is sealed again, the gap
// on record as a global root with the shard missing and a signed reconstruction record. Both
// keys are then rotated and trimmed: bundles from before and after verify from the first keys
// and the logs' key histories alone. No token, JWT or key material appears in any log.
import { readFileSync, writeFileSync } from 'node:fs';

import type { V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { trustedKey } from '../../src/clients/trust.ts';
import {
  coordinatorOrigin,
  shardOrigin,
  verifyCheckpoint,
  type Checkpoint,
} from '../../src/core/checkpoint.ts';
import type { MissingReport } from '../../src/coordinator/state.ts';
import {
  verifyGlobalRootRecord,
  verifyReconstructionRecord,
  type GlobalRootRecord,
  type ReconstructionRecord,
} from '../../src/core/global-root/index.ts';
import type { GlobalLogEntry } from '../../src/clients/coordinator-api.ts';
import { openKeyTransition, type KeyHistory } from '../../src/core/key-history.ts';
import { verifierKeyString } from '../../src/core/note.ts';
import type { SignerKeyPlan } from '../../src/keys/vault-plan.ts';
import {
  applySignerKeyPlan,
  readTransitKey,
  rotateTransitKey,
  trimTransitKey,
} from '../../src/keys/vault-provision.ts';
import {
  decisionsFor,
  epochTable,
  ndjson,
  removeTempDirs,
  request,
  startShardProcess,
  tempDir,
  waitFor,
  writeRouting,
  type ShardProcess,
} from '../integration/shard/shard-process.ts';
import { runAgdr, spawnAgdr, type AgdrProcess } from '../integration/e2e/harness.ts';
import { AGDR_TEST_IMAGE } from './harness/pod-runner/launch.ts';
import {
  clusterInfo,
  clusterKubectl,
  containerLogPath,
  startVault,
  stopVault,
} from './harness/context.ts';
import {
  createSignerPods,
  enableKeyEngines,
  KEYS_CLUSTER as CLUSTER,
  KEYS_MOUNT as MOUNT,
  mintPodToken,
  rootSession,
  SHARD_SERVICE_ACCOUNT as SA,
  shardPod,
  testKeysPlan,
  VAULT_AUDIENCE,
} from './harness/vault-identity.ts';

const OUTAGE_MS = 60_000;

const info = clusterInfo();
const kubectl = clusterKubectl();
const root = rootSession(info);
const table = epochTable(1);

let ns: string;
let plan: SignerKeyPlan;
let coordinatorPlan: SignerKeyPlan;
let podPlan: SignerKeyPlan;
let jwtFile: string;
let dir: string;
let routingFile: string;
let shard: ShardProcess | undefined;
let coordinator: AgdrProcess | undefined;

async function metric(name: string): Promise<number> {
  const text = (await request<string>(`${shard!.url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no metric ${name}`);
  return Number(line.split(' ').at(-1));
}

let sent = 0;
const statuses = new Map<number, number>();
/** One batch of 25 decisions to shard 0; the answers are counted by status. */
async function post(): Promise<void> {
  const ds = decisionsFor(table, 0, 25, { tag: 'vault', from: sent * 100 });
  sent++;
  const res = await request<{ receipts: unknown[] }>(`${shard!.url}/v1/decisions:batch`, {
    body: ndjson(ds),
    type: 'application/x-ndjson',
  });
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + res.body.receipts.length);
}

let shardVerifier: string;
let coordinatorVerifier: string;
let coordinatorUrl: string;

function signedCheckpoint(min: number): Promise<Checkpoint> {
  return waitFor(
    async () => {
      const res = await request<string>(`${shard!.url}/v1/checkpoint`);
      if (res.status !== 200) return undefined;
      const cp = verifyCheckpoint(res.text, [shardVerifier], shardOrigin(ns, CLUSTER, 0));
      return cp.size >= min ? cp : undefined;
    },
    60_000,
    `a Vault-signed checkpoint of >= ${min} records`,
  );
}

/** The latest global root once it seals shard 0 (ok) at `size` records or more. */
function sealedAt(size: number): Promise<GlobalRootRecord> {
  return waitFor(
    async () => {
      const res = await request<GlobalLogEntry<GlobalRootRecord>>(
        `${coordinatorUrl}/v1/global-roots/latest`,
      );
      if (res.status !== 200) return undefined;
      const entry = res.body.record.shard_roots.find((e) => e.shard_id === 0);
      return entry?.status === 'ok' && entry.tree_size >= size ? res.body.record : undefined;
    },
    60_000,
    `a global root sealing shard 0 at >= ${size} records`,
  );
}

async function treeSize(): Promise<number> {
  return (await request<{ tree_size: number }>(`${shard!.url}/readyz`)).body.tree_size;
}

/** `agdr shard` 0 signing with its pod-bound Vault key, on the same data directory each time. */
function startShard(...more: string[]): Promise<ShardProcess> {
  return startShardProcess({
    dataDir: join(dir, 'data'),
    shardId: 0,
    routingFile,
    args: [
      ...['--namespace', ns, '--cluster', CLUSTER, '--checkpoint-interval', '500ms'],
      ...['--signer', 'vault', '--vault-addr', info.vaultAddr, '--vault-transit-mount', MOUNT],
      ...['--vault-role', plan.name, '--vault-jwt', jwtFile, '--vault-timeout', '2s'],
      ...['--log-level', 'info', ...more],
    ],
  });
}

/** `agdr coordinator` sealing shard 0 with its own Vault key, on the same data directory. */
function startCoordinator(trustFile: string, ...more: string[]): AgdrProcess {
  // Development login: a token read from a file (here the harness's root token).
  const tokenFile = join(dir, 'vault-token');
  writeFileSync(tokenFile, info.vaultToken, { mode: 0o600 });
  return spawnAgdr([
    ...['coordinator', '--shards', shard!.url, '--data', join(dir, 'coordinator')],
    ...['--trust', trustFile, '--routing', routingFile, '--interval', '1s', '--port', '0'],
    ...['--namespace', ns, '--cluster', CLUSTER, '--json'],
    ...['--signer', 'vault', '--vault-addr', info.vaultAddr, '--vault-transit-mount', MOUNT],
    ...['--vault-token', tokenFile, ...more],
  ]);
}

beforeAll(async () => {
  await enableKeyEngines(root, info, MOUNT);
  ns = await kubectl.createNamespace('keys-shard');
  await createSignerPods(kubectl, ns, SA, ['desk-shard-0']);
  [plan, podPlan, coordinatorPlan] = testKeysPlan(ns, [0, 1]) as [
    SignerKeyPlan,
    SignerKeyPlan,
    SignerKeyPlan,
  ];
  for (const p of [plan, podPlan, coordinatorPlan]) await applySignerKeyPlan(root, p);
  dir = tempDir('agdr-vault-shard-');
  routingFile = writeRouting(dir, table);
  jwtFile = await mintPodToken(kubectl, ns, SA, 'desk-shard-0', tempDir('agdr-vault-jwt-'));
});

afterAll(async () => {
  await coordinator?.kill('SIGKILL');
  await shard?.kill();
  removeTempDirs();
  await kubectl.run(['delete', 'namespace', ns, '--wait=false']);
});

describe('agdr shard --signer vault', () => {
  it('signs checkpoints with its pod-bound Vault key; agdr coordinator --signer vault seals them with its own key', async () => {
    shard = await startShard();
    const origin = shardOrigin(ns, CLUSTER, 0);
    const key = await readTransitKey(root, plan.keyPath, plan.name);
    const verifier = verifierKeyString(origin, key.versions[0]!.publicKey);
    // The key name defaults to the one the operator provisions; the shard reports Vault's key.
    expect(shard.info.verifier_key).toBe(verifier);
    shardVerifier = verifier;
    await post();
    expect((await signedCheckpoint(25)).size).toBe(25);

    const trustFile = join(dir, 'trust.json');
    const trust = [
      trustedKey(
        'shard',
        { name: origin, publicKey: key.versions[0]!.publicKey, keyVersion: 1 },
        0,
      ),
    ];
    writeFileSync(trustFile, JSON.stringify({ version: 1, keys: trust }));
    coordinator = startCoordinator(trustFile);
    const started = JSON.parse(await coordinator.firstLine()) as {
      url: string;
      verifier_key: string;
    };
    coordinatorUrl = started.url;
    const coordKey = await readTransitKey(root, coordinatorPlan.keyPath, coordinatorPlan.name);
    const coordOrigin = coordinatorOrigin(ns, CLUSTER);
    coordinatorVerifier = verifierKeyString(coordOrigin, coordKey.versions[0]!.publicKey);
    expect(started.verifier_key).toBe(coordinatorVerifier);
    const sealed = await sealedAt(25);
    expect([sealed.signature.key_name, sealed.signature.key_version]).toEqual([coordOrigin, 1]);
    // Signed by the coordinator's Vault key; the shard checkpoint in it by the shard's.
    verifyGlobalRootRecord(sealed, [coordinatorVerifier], { shardKeys: [verifier] });
    const note = (await request<string>(`${coordinatorUrl}/v1/checkpoint`)).text;
    expect(verifyCheckpoint(note, [coordinatorVerifier], coordOrigin).size).toBeGreaterThan(0);
  });

  it('Vault stopped for 60 s during steady ingest: no request fails, nothing acknowledged is lost, and the shard is sealed again with the gap and its reconstruction on record', async () => {
    const missedBefore = (await request<MissingReport>(`${coordinatorUrl}/v1/missing`)).body;
    expect(missedBefore.open).toEqual([]);
    let ingesting = true;
    const ingest = (async () => {
      while (ingesting) {
        await post();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 1_000));
    await stopVault();
    const stoppedAt = Date.now();
    let rootsAtStop: number | undefined;
    let sizeDuringOutage: number | undefined;
    try {
      await waitFor(
        async () =>
          (await metric('agdr_shard_checkpoint_consecutive_failures')) >= 2 ? true : undefined,
        OUTAGE_MS,
        'checkpoint signing failures counted',
      );
      // A round that signed just before the stop may still have been committing; none after.
      const latestRoot = async (): Promise<number> =>
        (
          await request<GlobalLogEntry<GlobalRootRecord>>(
            `${coordinatorUrl}/v1/global-roots/latest`,
          )
        ).body.record.global_root_id;
      rootsAtStop = await latestRoot();
      sizeDuringOutage = await treeSize();
      expect((await request(`${shard!.url}/healthz`)).status).toBe(200);
      expect((await request(`${shard!.url}/readyz`)).status).toBe(200);
      // Where the coordinator looks, the shard says its checkpoint no longer covers its appends.
      const unsigned = await request<{ error: { code: string } }>(`${shard!.url}/v1/checkpoint`);
      expect([unsigned.status, unsigned.body.error.code]).toEqual([503, 'checkpoint_unsigned']);
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
      expect(await treeSize()).toBeGreaterThan(sizeDuringOutage);
      // Nothing could be sealed meanwhile: the coordinator's key is in the same Vault.
      expect(await latestRoot()).toBe(rootsAtStop);
    } finally {
      await startVault();
    }
    await new Promise((r) => setTimeout(r, 1_000));
    ingesting = false;
    await ingest;

    // Every request was acknowledged, and once Vault answers the checkpoints cover them all.
    expect([...statuses.keys()]).toEqual([200]);
    const acknowledged = statuses.get(200)!;
    expect(acknowledged).toBe(sent * 25);
    expect(await treeSize()).toBe(acknowledged);
    expect((await signedCheckpoint(acknowledged)).size).toBe(acknowledged);
    expect(await metric('agdr_shard_checkpoint_consecutive_failures')).toBe(0);

    // Sealed again, with the gap on record: a global root in which the shard was missing, and
    // the signed reconstruction record proving its log only grew across it.
    const sealed = await sealedAt(acknowledged);
    verifyGlobalRootRecord(sealed, [coordinatorVerifier], { shardKeys: [shardVerifier] });
    const missing = await waitFor(
      async () => {
        const m = (await request<MissingReport>(`${coordinatorUrl}/v1/missing`)).body;
        return m.reconstructed.some((r) => r.shard_id === 0) ? m : undefined;
      },
      30_000,
      'the reconstruction of shard 0',
    );
    expect(missing.open).toEqual([]);
    const reconstructed = missing.reconstructed.find((r) => r.shard_id === 0)!;
    const entry = (
      await request<GlobalLogEntry<ReconstructionRecord>>(
        `${coordinatorUrl}/v1/records/${reconstructed.index}`,
      )
    ).body.record;
    expect(entry.type).toBe('reconstruction');
    verifyReconstructionRecord(entry, [coordinatorVerifier], { shardKeys: [shardVerifier] });
    expect(entry.missed_intervals.length).toBeGreaterThan(0);
    expect(entry.missed_intervals[0]!.reason).toMatch(
      /HTTP 503: no checkpoint covers the \d+ records appended since size \d+: signing has failed since .* \(while the coordinator could not sign a global root\)$/,
    );
    expect(entry.missed_intervals[0]!.global_root_id).toBeGreaterThan(rootsAtStop!);
    expect(entry.tree_size).toBeGreaterThan(sizeDuringOutage!);

    expect(await coordinator!.kill('SIGTERM')).toBe(0);
    expect(await shard!.stop()).toBe(0);
    const log = shard!.stderr() + coordinator!.stderr();
    expect(log).toContain('checkpoint signing failed; appends continue, retrying');
    expect(log).toContain('checkpoint signing recovered');
    expect(log).toContain('logged in to Vault');

    // No credential or key material in the shard's log or Vault's.
    const secrets = [readFileSync(jwtFile, 'utf8').trim(), info.vaultToken];
    const vaultLog = readFileSync(join(info.logDir, 'vault.log'), 'utf8');
    for (const text of [log, vaultLog]) {
      for (const s of secrets) expect(text).not.toContain(s);
      // Vault service and batch tokens, JWTs, PEM blocks.
      expect(text).not.toMatch(/\bhv[sb]\.[A-Za-z0-9_-]{20,}/);
      expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
      expect(text).not.toContain('PRIVATE KEY');
    }
  }, 180_000);

  it('rotation and trim: an old bundle and a new one both verify from the key histories alone', async () => {
    const trustFile = join(dir, 'trust.json');
    shard = await startShard('--vault-key-refresh', '1s');
    coordinator = startCoordinator(trustFile, '--vault-key-refresh', '1s');
    const coordinatorUrl = (JSON.parse(await coordinator.firstLine()) as { url: string }).url;
    const origin = shardOrigin(ns, CLUSTER, 0);
    const coordOrigin = coordinatorOrigin(ns, CLUSTER);
    const [shardV1, coordV1] = [
      verifierKeyString(
        origin,
        (await readTransitKey(root, plan.keyPath, plan.name)).versions[0]!.publicKey,
      ),
      verifierKeyString(
        coordOrigin,
        (await readTransitKey(root, coordinatorPlan.keyPath, coordinatorPlan.name)).versions[0]!
          .publicKey,
      ),
    ];
    let sent = 1000;
    const post = async (): Promise<void> => {
      const res = await request(`${shard!.url}/v1/decisions:batch`, {
        body: ndjson(decisionsFor(table, 0, 10, { tag: 'rotation', from: (sent += 100) })),
        type: 'application/x-ndjson',
      });
      expect(res.status).toBe(200);
    };
    const prove = async (seq: number, out: string): Promise<void> => {
      const r = await runAgdr([
        ...['prove', '--coordinator', coordinatorUrl, '--shard', '0', '--seq', String(seq)],
        ...['--out', out, '--wait', '30s'],
      ]);
      expect(r.code, r.stderr).toBe(0);
    };
    // Bundle A: a record signed and sealed under version 1 of both keys.
    const bundleA = join(dir, 'a.bundle.json');
    await prove(0, bundleA);

    // Both keys rotate; each process records the transition at its next signature.
    const rotated = await rotateTransitKey(root, plan.keyPath, plan.name);
    await rotateTransitKey(root, coordinatorPlan.keyPath, coordinatorPlan.name);
    // The coordinator checks shard checkpoints against its trust bundle, as the operator keeps
    // it (every version); the verifier below uses none of it.
    const versions = rotated.versions.map((v) =>
      trustedKey('shard', { name: origin, publicKey: v.publicKey, keyVersion: v.version }, 0),
    );
    writeFileSync(trustFile, JSON.stringify({ version: 1, keys: versions }));
    const histories = await waitFor(
      async () => {
        await post();
        const s = (await request<KeyHistory>(`${shard!.url}/v1/key-history`)).body;
        const c = (await request<KeyHistory>(`${coordinatorUrl}/v1/key-history`)).body;
        return s.transitions.length === 1 && c.transitions.length === 1 ? { s, c } : undefined;
      },
      30_000,
      'both key histories recording the rotation',
    );
    expect(histories.s.first.verifier_key).toBe(shardV1);
    expect(histories.c.first.verifier_key).toBe(coordV1);
    // Bundle B: a record signed and sealed under version 2 of both.
    await post();
    const size = (await request<{ tree_size: number }>(`${shard!.url}/readyz`)).body.tree_size;
    await waitFor(
      async () => {
        const res = await request<GlobalLogEntry<GlobalRootRecord>>(
          `${coordinatorUrl}/v1/global-roots/latest`,
        );
        const entry = res.body.record?.shard_roots.find((e) => e.shard_id === 0);
        return res.body.record?.signature.key_version === 2 && (entry?.tree_size ?? 0) >= size
          ? true
          : undefined;
      },
      30_000,
      'a global root signed by version 2 sealing every record',
    );
    const bundleB = join(dir, 'b.bundle.json');
    await prove(size - 1, bundleB);
    expect(await coordinator.kill('SIGTERM')).toBe(0);
    expect(await shard!.stop()).toBe(0);

    // Trim: Vault keeps only version 2 of each key; version 1 can never sign again.
    for (const p of [plan, coordinatorPlan]) {
      const trimmed = await trimTransitKey(root, p.keyPath, p.name, 1);
      expect(trimmed?.removed.map((v) => v.version)).toEqual([1]);
    }
    const files = [
      ['shard.history.json', histories.s],
      ['coordinator.history.json', histories.c],
    ] as const;
    for (const [name, h] of files) writeFileSync(join(dir, name), JSON.stringify(h));
    const verify = (bundle: string, ...more: string[]) =>
      runAgdr([
        ...['verify', bundle, '--trust-key', shardV1, '--trust-key', coordV1],
        ...files.flatMap(([name]) => ['--key-history', join(dir, name)]),
        ...more,
      ]);
    for (const bundle of [bundleA, bundleB]) {
      const r = await verify(bundle);
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(/ok {3}key_history: 2 key transitions followed/);
      expect(r.stdout.split('\n').at(-1)).toBe('VERIFIED');
    }
    const b = JSON.parse((await verify(bundleB, '--json')).stdout) as { keysUsed: string[] };
    const [s2, c2] = [histories.s, histories.c].map(
      (h) => openKeyTransition(h.transitions[0]!).newKey,
    );
    expect(b.keysUsed).toEqual([s2, c2]);

    // A forged history (the transition's time moved under its signatures) fails clearly.
    const forged = histories.s.transitions[0]!.replace(
      /valid_from_ns (\d+)/,
      (_m, t: string) => `valid_from_ns ${BigInt(t) - 1n}`,
    );
    writeFileSync(
      join(dir, 'shard.history.json'),
      JSON.stringify({ ...histories.s, transitions: [forged] }),
    );
    const bad = await verify(bundleB);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAILED: key_history: \$\.transitions\[0\]: .*signature/);
    // Without any history, only the first keys are pinned: the new bundle's keys are not.
    const bare = await runAgdr(['verify', bundleB, '--trust-key', shardV1, '--trust-key', coordV1]);
    expect(bare.code).toBe(1);
  });

  it('a shard pod run by the pod runner logs in with its projected ServiceAccount token and signs', async () => {
    const pod = shardPod(1);
    const jwtDir = '/var/run/secrets/agdr.dev/vault';
    const routing = epochTable(2);
    await kubectl.apply(
      [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'routing', namespace: ns },
          data: { 'routing.json': JSON.stringify(routing) },
        },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: pod, namespace: ns },
          spec: {
            serviceAccountName: SA,
            nodeSelector: { type: 'kwok' },
            containers: [
              {
                name: 'shard',
                image: AGDR_TEST_IMAGE,
                args: [
                  ...['shard', '--data=/var/lib/agdr', '--shard-id', '1'],
                  ...['--routing', '/etc/agdr/routing/routing.json', '--host', '$(POD_IP)'],
                  ...['--port', '7071', '--workers', '0', '--checkpoint-interval', '500ms'],
                  ...['--namespace', ns, '--cluster', CLUSTER, '--signer', 'vault'],
                  ...['--vault-addr', info.vaultAddr, '--vault-transit-mount', MOUNT],
                  ...['--vault-role', podPlan.name, '--vault-jwt', `${jwtDir}/token`],
                ],
                env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
                readinessProbe: { httpGet: { path: '/readyz', port: 7071 }, periodSeconds: 1 },
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/agdr' },
                  { name: 'routing', mountPath: '/etc/agdr/routing' },
                  { name: 'vault-token', mountPath: jwtDir },
                ],
              },
            ],
            volumes: [
              { name: 'data', emptyDir: {} },
              { name: 'routing', configMap: { name: 'routing' } },
              {
                name: 'vault-token',
                projected: {
                  sources: [
                    {
                      serviceAccountToken: {
                        audience: VAULT_AUDIENCE,
                        expirationSeconds: 600,
                        path: 'token',
                      },
                    },
                  ],
                },
              },
            ],
          },
        },
      ]
        .map((d) => stringify(d))
        .join('---\n'),
    );
    await kubectl.waitFor(
      `${pod} Ready`,
      async () => {
        const p = await kubectl.getJson<V1Pod>(['pod', pod, '-n', ns]);
        const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return ready ? null : JSON.stringify(p.status ?? 'no status');
      },
      120_000,
    );
    const running = await kubectl.getJson<V1Pod>(['pod', pod, '-n', ns]);
    const ip = running.status?.podIP ?? '';
    const url = `http://${ip}:7071`;
    const res = await request<{ receipts: unknown[] }>(`${url}/v1/decisions:batch`, {
      body: ndjson(decisionsFor(routing, 1, 10, { tag: 'pod' })),
      type: 'application/x-ndjson',
    });
    expect(res.status).toBe(200);
    const key = await readTransitKey(root, podPlan.keyPath, podPlan.name);
    const origin = shardOrigin(ns, CLUSTER, 1);
    const verifier = verifierKeyString(origin, key.versions[0]!.publicKey);
    const cp = await waitFor(
      async () => {
        const c = verifyCheckpoint(
          (await request<string>(`${url}/v1/checkpoint`)).text,
          [verifier],
          origin,
        );
        return c.size >= 10 ? c : undefined;
      },
      30_000,
      'a Vault-signed checkpoint from the pod',
    );
    expect(cp.size).toBe(10);
    await kubectl.run(['delete', 'pod', pod, '-n', ns, '--wait=true', '--timeout=60s']);
    // Its container log: logged in with the projected token, which appears nowhere in it.
    const log = readFileSync(containerLogPath(running, 'shard'), 'utf8');
    expect(log).toContain('logged in to Vault');
    expect(log).not.toMatch(/\bhv[sb]\.[A-Za-z0-9_-]{20,}/);
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
