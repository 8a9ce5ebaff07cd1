// `kubectl scale` as a shard migration, end to end with real processes: the operator drives real
// `agdr` shards and a coordinator (run by the pod runner) from 3 to 5 to 2 shards while
// `agdr submit` streams decisions the whole time; afterwards every acknowledged decision routes
// to the shard that acknowledged it under the epoch in force at its timestamp, none is
// duplicated, every one proves with `agdr prove` and verifies with `agdr verify`, and status and
// Events tell the story. Then a scale-down per phase with the operator killed in that phase.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { verifyBundle } from '../../src/core/bundle.ts';
import { parseCheckpointNote } from '../../src/core/checkpoint.ts';
import type { GlobalRootRecord } from '../../src/core/global-root/index.ts';
import { parseJsonExact } from '../../src/core/json-exact.ts';
import { routeDecision } from '../../src/core/routing.ts';
import type { EpochTable } from '../../src/core/routing.ts';
import { validateTrustBundle } from '../../src/clients/trust.ts';
import { recordsNdjson, upstreamRecord } from '../fixtures/records.ts';
import { clusterRoutingTable, startOperator } from './harness/agdr-operator.ts';
import type { OperatorProcess } from './harness/agdr-operator.ts';
import { clusterInfo, clusterKubectl } from './harness/context.ts';
import type { Kubectl } from './harness/kubectl.ts';
import { AGDR_TEST_IMAGE } from './harness/pod-runner/launch.ts';
import { sleep } from './harness/process.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGDR = join(ROOT, 'src/cli/agdr.ts');
const CRD_FILE = join(ROOT, 'crds/agdr.dev_agdrclusters.yaml');
const NAME = 'scaled';
/** Epoch lead time of these tests: the pod runner projects ConfigMaps at once. */
const LEAD = '8s';

interface Migration {
  epoch: number;
  from: number;
  to: number;
  phase: string;
  reason?: string;
  message?: string;
  effectiveFromNs?: string;
  completedAt?: string;
}
interface ShardStatus {
  id: number;
  phase?: string;
  ready?: boolean;
  finalSize?: number;
  finalRoot?: string;
  retiredFromNs?: string;
}
interface ClusterStatus {
  readyShards?: number;
  conditions?: { type: string; status: string; reason: string; message: string }[];
  shardStatus?: ShardStatus[];
  migrations?: Migration[];
}
interface Receipt {
  record_id: string;
  shard_id: number;
  seq: number;
  routing: { epoch: number };
}

describe('kubectl scale: shard migrations with real shards, a coordinator and a decision stream', () => {
  const k: Kubectl = clusterKubectl();
  let ns = '';
  let operator: OperatorProcess | undefined;
  const work = mkdtempSync(join(tmpdir(), 'agdr-operator-scale-'));
  /** Every decision sent, by record_id: its NDJSON line. */
  const sent = new Map<string, string>();
  const receipts: Receipt[] = [];

  const status = async (): Promise<ClusterStatus> =>
    (await k.getJson<{ status?: ClusterStatus }>(['agdr', NAME, '-n', ns])).status ?? {};
  const lastMigration = async (): Promise<Migration | undefined> =>
    (await status()).migrations?.at(-1);
  const coordinatorUrl = async (): Promise<string> => {
    const pods = await k.getJson<{ items: { status?: { podIP?: string } }[] }>([
      'pods',
      '-n',
      ns,
      '-l',
      `app.kubernetes.io/instance=${NAME},app.kubernetes.io/component=coordinator`,
    ]);
    const ip = pods.items[0]?.status?.podIP;
    if (ip === undefined) throw new Error('coordinator pod has no IP');
    return `http://${ip}:7070`;
  };
  const agdr = (args: string[]): Promise<{ stdout: string; stderr: string }> =>
    run(process.execPath, [AGDR, ...args], { cwd: work, timeout: 300_000, maxBuffer: 1 << 26 });
  const migrationEvents = async (): Promise<string[]> =>
    (
      await k.getJson<{
        items: { reason: string; note: string; eventTime?: string; regarding: { name: string } }[];
      }>(['events.events.k8s.io', '-n', ns])
    ).items
      .filter((e) => e.regarding.name === NAME && e.reason.startsWith('Migration'))
      .sort((a, b) => (a.eventTime ?? '').localeCompare(b.eventTime ?? ''))
      .map((e) => e.reason);
  const routingTable = (): Promise<EpochTable> => clusterRoutingTable(k, ns, NAME);
  const scaleTo = (n: number): Promise<string> =>
    k.run(['scale', `agdr/${NAME}`, '-n', ns, `--replicas=${n}`]);
  const completed = (epoch: number, timeoutMs = 120_000): Promise<void> =>
    k.waitFor(
      `migration to epoch ${epoch} Completed`,
      async () => {
        const m = await lastMigration();
        return m?.epoch === epoch && m.phase === 'Completed' ? null : JSON.stringify(m);
      },
      timeoutMs,
    );

  /** Waits until the stream has had a decision acknowledged under routing epoch `epoch`. */
  const acknowledgedUnder = (epoch: number): Promise<void> =>
    k.waitFor(
      `a decision acknowledged under epoch ${epoch}`,
      async () => (receipts.some((r) => r.routing.epoch === epoch) ? null : 'not yet'),
      120_000,
    );

  /** Sends small batches of fresh decisions through `agdr submit` until stopped. */
  function stream(): { stop: () => Promise<{ batches: number; failedBatches: number }> } {
    let stopped = false;
    let batches = 0;
    let failedBatches = 0;
    const loop = (async () => {
      for (let b = 0; !stopped; b++) {
        const t0 = BigInt(Date.now()) * 1_000_000n;
        const records = Array.from({ length: 12 }, (_, i) =>
          upstreamRecord(i, {
            id: `s${b}-${i}`,
            timestampNs: t0 + BigInt(i),
            ctx: { entity_id: `entity-${b}-${i}` },
          }),
        );
        const text = recordsNdjson(records);
        const lines = text.trim().split('\n');
        lines.forEach((line, i) => sent.set(`s${b}-${i}`, line));
        const file = join(work, `batch-${b}.ndjson`);
        writeFileSync(file, text);
        batches++;
        try {
          const url = await coordinatorUrl();
          const out = await agdr(['submit', file, '--coordinator', url, '--json', '--batch', '4']);
          for (const l of out.stdout.trim().split('\n').filter(Boolean))
            receipts.push(JSON.parse(l) as Receipt);
        } catch (err) {
          // Some batch was refused (a retired shard, a stale table) or the coordinator moved:
          // what was acknowledged is on stdout all the same.
          failedBatches++;
          const out = (err as { stdout?: string }).stdout ?? '';
          for (const l of out.trim().split('\n').filter(Boolean))
            receipts.push(JSON.parse(l) as Receipt);
        }
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        await loop;
        return { batches, failedBatches };
      },
    };
  }

  /**
   * Serves retired shard `id`'s log from its volume: a Pod from the shard StatefulSet's own pod
   * template with SHARD_ID set and the shard's claim mounted. Returns its URL.
   */
  async function serveRetired(id: number): Promise<string> {
    interface Template {
      spec: {
        containers: { env?: { name: string; value?: string; valueFrom?: unknown }[] }[];
        volumes?: unknown[];
      };
    }
    const sts = await k.getJson<{ spec: { template: Template } }>([
      'sts',
      `${NAME}-shard`,
      '-n',
      ns,
    ]);
    const spec = structuredClone(sts.spec.template.spec);
    const container = spec.containers[0] as { env?: { name: string; value?: string }[] };
    container.env = (container.env ?? []).map((e) =>
      e.name === 'SHARD_ID' ? { name: 'SHARD_ID', value: String(id) } : e,
    );
    spec.volumes = [
      ...(spec.volumes ?? []),
      { name: 'data', persistentVolumeClaim: { claimName: `data-${NAME}-shard-${id}` } },
    ];
    const podName = `${NAME}-shard-${id}-archive`;
    await k.apply(
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: podName, namespace: ns, labels: { 'agdr.dev/archive-of': NAME } },
        spec,
      }),
    );
    let url = '';
    await k.waitFor(
      `${podName} serving its log`,
      async () => {
        const pod = await k.getJson<{ status?: { podIP?: string } }>(['pod', podName, '-n', ns]);
        if (pod.status?.podIP === undefined) return 'no IP yet';
        url = `http://${pod.status.podIP}:7071`;
        const res = await fetch(`${url}/v1/checkpoint`).catch(() => undefined);
        return res?.status === 200 ? null : `checkpoint: ${res?.status ?? 'no answer'}`;
      },
      60_000,
    );
    return url;
  }

  beforeAll(async () => {
    await k.apply(readFileSync(CRD_FILE, 'utf8'));
    await k.run(['wait', '--for=condition=Established', 'crd/agdrclusters.agdr.dev']);
    ns = await k.createNamespace('operator-scale');
    operator = await startOperator('scale-1', ns, ['--default-image', AGDR_TEST_IMAGE]);
  });

  afterAll(async () => {
    await operator?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('3 -> 5 -> 2 under a steady stream: nothing lost, duplicated or misrouted; all provable', async () => {
    await k.apply(
      stringify({
        apiVersion: 'agdr.dev/v1alpha1',
        kind: 'AgDRCluster',
        metadata: { name: NAME, namespace: ns },
        spec: {
          shards: 3,
          aggregation: { interval: '1s' },
          keys: { provider: 'file' },
          storage: { size: '1Gi' },
          scaling: { epochLeadTime: LEAD },
        },
      }),
    );
    await k.waitFor(
      '3/3 shards ready and sealed',
      async () => {
        const s = await status();
        const ready = s.conditions?.find((c) => c.type === 'Ready');
        return ready?.status === 'True' && s.readyShards === 3 ? null : JSON.stringify(ready);
      },
      180_000,
    );
    const feed = stream();
    await sleep(3_000);

    const upAt = Date.now();
    await scaleTo(5);
    await completed(1);
    console.log(`scale 3 -> 5 under load: Completed after ${(Date.now() - upAt) / 1000} s`);
    expect((await status()).readyShards).toBe(5);
    await acknowledgedUnder(1);

    const downAt = Date.now();
    await scaleTo(2);
    await completed(2);
    console.log(`scale 5 -> 2 under load: Completed after ${(Date.now() - downAt) / 1000} s`);
    await acknowledgedUnder(2);
    const { batches, failedBatches } = await feed.stop();
    console.log(
      `stream: ${batches} batches of 12, ${failedBatches} with a refused part, ${receipts.length} of ${sent.size} decisions acknowledged`,
    );

    // Status: both migrations, the retired shards with their final checkpoints.
    const s = await status();
    expect(s.migrations?.map((m) => [m.epoch, m.from, m.to, m.phase, m.reason])).toEqual([
      [1, 3, 5, 'Completed', 'ScaledUp'],
      [2, 5, 2, 'Completed', 'ScaledDown'],
    ]);
    expect(s.shardStatus?.map((x) => [x.id, x.phase])).toEqual([
      [0, 'active'],
      [1, 'active'],
      [2, 'retired'],
      [3, 'retired'],
      [4, 'retired'],
    ]);
    expect(
      (await k.getJson<{ spec: { replicas: number } }>(['sts', `${NAME}-shard`, '-n', ns])).spec
        .replicas,
    ).toBe(2);
    expect(await migrationEvents()).toEqual([
      'MigrationStarted',
      'MigrationCompleted',
      'MigrationStarted',
      'MigrationCompleted',
    ]);

    // Every acknowledged decision: once, on the shard its epoch routes it to.
    const table = await routingTable();
    expect(table.epochs.map((e) => e.shards)).toEqual([3, 5, 2]);
    expect(new Set(receipts.map((r) => r.record_id)).size).toBe(receipts.length);
    expect(new Set(receipts.map((r) => `${r.shard_id}/${r.seq}`)).size).toBe(receipts.length);
    const perEpoch = new Map<number, number>();
    for (const r of receipts) {
      const decision = parseJsonExact(sent.get(r.record_id) as string) as Record<string, unknown>;
      const routed = routeDecision(decision, table);
      expect([r.record_id, r.shard_id, r.routing.epoch]).toEqual([
        r.record_id,
        routed.shard,
        routed.epoch,
      ]);
      perEpoch.set(routed.epoch, (perEpoch.get(routed.epoch) ?? 0) + 1);
    }
    // The stream ran under all three epochs.
    expect([...perEpoch.keys()].sort()).toEqual([0, 1, 2]);
    // A retired shard's final sealed checkpoint covers every decision it acknowledged.
    for (const id of [2, 3, 4]) {
      const retired = s.shardStatus?.find((x) => x.id === id);
      expect(retired?.finalSize, `shard ${id}`).toBe(
        receipts.filter((r) => r.shard_id === id).length,
      );
      expect(retired?.finalRoot).toMatch(/^[0-9a-f]{64}$/);
      expect(retired?.retiredFromNs).toBe(table.epochs[2]?.effective_from_ns);
    }

    // Provable and verifiable: the live shards' records now.
    const url = await coordinatorUrl();
    const live = receipts.filter((r) => r.shard_id < 2);
    await agdr([
      'prove',
      '--coordinator',
      url,
      ...live.flatMap((r) => ['--record-id', r.record_id]),
      '--out-dir',
      'bundles',
      '--wait',
      '30s',
    ]);
    const trustText = (
      await k.getJson<{ data: Record<string, string> }>(['configmap', `${NAME}-trust`, '-n', ns])
    ).data['trust.json'] as string;
    writeFileSync(join(work, 'trust.json'), trustText);
    const trust = validateTrustBundle(JSON.parse(trustText));
    const files = readdirSync(join(work, 'bundles'));
    expect(files).toHaveLength(live.length);
    for (const f of files) {
      const report = verifyBundle(readFileSync(join(work, 'bundles', f)), { trust: trust.keys });
      expect(report.ok, f).toBe(true);
    }
    // The retired shards' records: their logs served again from their volumes (docs/OPERATOR.md,
    // court production), then proven and verified the same way.
    const archives = new Map<number, string>();
    for (const id of [2, 3, 4]) archives.set(id, await serveRetired(id));
    const retiredReceipts = receipts.filter((r) => r.shard_id >= 2);
    await agdr([
      'prove',
      '--coordinator',
      url,
      ...[...archives].flatMap(([id, u]) => ['--shard-url', `${id}=${u}`]),
      ...retiredReceipts.flatMap((r) => ['--record-id', r.record_id]),
      '--out-dir',
      'bundles',
    ]);
    const all = readdirSync(join(work, 'bundles'));
    expect(all).toHaveLength(receipts.length);
    for (const r of retiredReceipts) {
      const f = `${r.record_id}.bundle.json`;
      const report = verifyBundle(readFileSync(join(work, 'bundles', f)), { trust: trust.keys });
      expect(report.ok, f).toBe(true);
    }
    // A served archive is retired by the table it reads: it takes nothing new.
    const archived = receipts.find((r) => r.shard_id === 2) as Receipt;
    const refused = await fetch(`${archives.get(2)}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: sent.get(archived.record_id)?.replace(archived.record_id, 'after-retirement'),
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);

    // `agdr verify` itself on one bundle of each shard.
    for (const shard of [0, 1, 2, 3, 4]) {
      const r = receipts.find((x) => x.shard_id === shard) as Receipt;
      const out = await agdr([
        'verify',
        join('bundles', `${r.record_id}.bundle.json`),
        '--trust',
        'trust.json',
      ]);
      expect(out.stdout + out.stderr).toMatch(/ok|verified|valid/i);
    }
    // An archive holds the shard's volume: stop it before the id could run again.
    await k.run(['delete', 'pod', '-n', ns, '-l', `agdr.dev/archive-of=${NAME}`, '--wait=true']);
  }, 600_000);

  /** Global root records from the coordinator, oldest first. */
  async function globalRoots(): Promise<GlobalRootRecord[]> {
    const url = await coordinatorUrl();
    const out: GlobalRootRecord[] = [];
    for (let from: number | null = 0; from !== null;) {
      const res = await fetch(`${url}/v1/global-roots?from=${from}&limit=1000`);
      const page = (await res.json()) as {
        global_roots: { record: GlobalRootRecord }[];
        next_from: number | null;
      };
      out.push(...page.global_roots.map((e) => e.record));
      from = page.next_from;
    }
    return out;
  }

  /**
   * Watches shard pod `id` and resolves with when its deletion was requested (ms; the API
   * server's second precision): deletionTimestamp less the grace period the pod was given.
   * Read from the pod itself, not from the StatefulSet controller's SuccessfulDelete Event: the
   * controller's event recorder drops events beyond 25 per object (then one per 5 minutes), and
   * a scale-down after several migrations, with pods re-created while older ones terminate, can
   * reach that.
   */
  function watchDeletion(id: number): { requested: Promise<number>; stop: () => void } {
    const info = clusterInfo();
    const child = spawn(k.binary, [
      '--kubeconfig',
      info.kubeconfig,
      'get',
      'pod',
      `${NAME}-shard-${id}`,
      '-n',
      ns,
      '--watch',
      '-o',
      'jsonpath={.metadata.deletionTimestamp}{" "}{.metadata.deletionGracePeriodSeconds}{"\\n"}',
    ]);
    const requested = new Promise<number>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
          const [at = '', grace = '0'] = buffer.slice(0, i).trim().split(' ');
          buffer = buffer.slice(i + 1);
          if (at === '') continue;
          child.kill();
          resolve(Date.parse(at) - Number(grace) * 1000);
        }
      });
      child.on('error', reject);
      child.on('exit', () => reject(new Error(`the watch of pod ${id} ended without a deletion`)));
    });
    requested.catch(() => undefined);
    return { requested, stop: () => child.kill() };
  }

  /**
   * Resolves once the cluster's newest migration is in `phase` going to `to`, watching the
   * object (a status-only phase such as Pending lasts about one requeue interval).
   */
  function watchPhase(phase: string, to: number): Promise<Migration> {
    const info = clusterInfo();
    return new Promise((resolve, reject) => {
      const child = spawn(k.binary, [
        '--kubeconfig',
        info.kubeconfig,
        'get',
        'agdr',
        NAME,
        '-n',
        ns,
        '--watch',
        '-o',
        'jsonpath={.status.migrations[-1:]}{"\\n"}',
      ]);
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`no migration to ${to} seen in ${phase}`));
      }, 90_000);
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
          const line = buffer.slice(0, i).trim();
          buffer = buffer.slice(i + 1);
          if (line === '') continue;
          const m = JSON.parse(line) as Migration;
          if (m.phase === phase && m.to === to) {
            clearTimeout(timer);
            child.kill();
            resolve(m);
          }
        }
      });
      child.on('error', reject);
    });
  }

  /**
   * Scales down by one with the operator SIGKILLed in `phase`: a new operator completes the
   * migration, and the retiring shard's pod was deleted only after a global root had sealed a
   * checkpoint it signed at or after the boundary.
   */
  async function killedIn(phase: string, from: number, during?: () => Promise<void>) {
    const retiring = from - 1;
    const deletion = watchDeletion(retiring);
    try {
      return await killedInWatching(phase, from, deletion.requested, during);
    } finally {
      deletion.stop();
    }
  }

  /** killedIn's steps, with the retiring pod's deletion watched from before the scale-down. */
  async function killedInWatching(
    phase: string,
    from: number,
    deletionRequested: Promise<number>,
    during?: () => Promise<void>,
  ) {
    const retiring = from - 1;
    const watched = watchPhase(phase, from - 1);
    await scaleTo(from - 1);
    const seen = await watched;
    operator?.kill();
    await operator?.stop();
    console.log(`operator killed with migration ${seen.epoch} in ${seen.phase}`);
    await during?.();
    operator = await startOperator(`scale-${phase}`, ns, ['--default-image', AGDR_TEST_IMAGE]);
    const epoch = seen.epoch;
    await completed(epoch);
    const m = (await status()).migrations?.find((x) => x.epoch === epoch);
    expect(m).toMatchObject({ from, to: from - 1, phase: 'Completed', reason: 'ScaledDown' });
    const boundary = BigInt(m?.effectiveFromNs ?? '0');
    const sealedAt = (await globalRoots()).find((g) => {
      const e = g.shard_roots.find((x) => x.shard_id === retiring);
      if (e?.status !== 'ok' || typeof e.checkpoint !== 'string') return false;
      return (parseCheckpointNote(e.checkpoint).timestampNs ?? 0n) >= boundary;
    });
    expect(sealedAt, `a seal of shard ${retiring} past the boundary`).toBeDefined();
    let timer: NodeJS.Timeout | undefined;
    const deleted = await Promise.race([
      deletionRequested,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`pod ${retiring} not deleted 30 s after its migration completed`)),
          30_000,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    // The API server's times have second precision.
    const sealedMs = Number(BigInt(sealedAt?.timestamp_ns ?? '0') / 1_000_000n);
    expect(deleted + 1000).toBeGreaterThanOrEqual(sealedMs);
    const retired = (await status()).shardStatus?.find((x) => x.id === retiring);
    expect(retired).toMatchObject({ phase: 'retired', retiredFromNs: m?.effectiveFromNs });
    return m;
  }

  it('operator killed in Pending of a scale-down: a new one completes it, nothing removed early', async () => {
    await scaleTo(4);
    await completed(3);
    await killedIn('Pending', 4);
  }, 300_000);

  it('operator killed in EpochScheduled of a scale-down: completes, nothing removed early', async () => {
    await killedIn('EpochScheduled', 3);
  }, 300_000);

  it('operator killed in Draining, the retiring shard stopped: Blocked, then completes by itself', async () => {
    // Shard 1 is frozen (SIGSTOP) as soon as the epoch retiring it is published: past the
    // boundary it cannot sign its final checkpoint, so the drain is Blocked.
    const podName = `${NAME}-shard-1`;
    const pid = async (): Promise<number> =>
      Number(
        /^agdr-runner:\/\/(\d+)$/.exec(
          (
            await k.getJson<{ status?: { containerStatuses?: { containerID?: string }[] } }>([
              'pod',
              podName,
              '-n',
              ns,
            ])
          ).status?.containerStatuses?.[0]?.containerID ?? '',
        )?.[1],
      );
    const frozen = await pid();
    expect(frozen).toBeGreaterThan(0);
    await scaleTo(1);
    await k.waitFor(
      'epoch 6 scheduled',
      async () => ((await lastMigration())?.phase === 'EpochScheduled' ? null : 'not yet'),
      60_000,
    );
    process.kill(frozen, 'SIGSTOP');
    await k.waitFor(
      'the drain Blocked',
      async () => {
        const m = await lastMigration();
        return m?.phase === 'Draining' && m.reason === 'Blocked' ? null : JSON.stringify(m);
      },
      60_000,
    );
    expect((await lastMigration())?.message).toContain('no shard is removed');
    const blocked = (await status()).conditions?.find((c) => c.type === 'Progressing');
    expect(blocked).toMatchObject({ status: 'False', reason: 'MigrationBlocked' });
    expect(
      (await k.getJson<{ spec: { replicas: number } }>(['sts', `${NAME}-shard`, '-n', ns])).spec
        .replicas,
    ).toBe(2);
    await killedIn('Draining', 2, async () => {
      process.kill(frozen, 'SIGCONT');
    }).catch((err: unknown) => {
      // Its process may be gone already (deleted, or restarted by its liveness probe).
      try {
        process.kill(frozen, 'SIGCONT');
      } catch {
        /* not running */
      }
      throw err;
    });
    const events = await migrationEvents();
    expect(events.slice(-3)).toEqual([
      'MigrationStarted',
      'MigrationBlocked',
      'MigrationCompleted',
    ]);
  }, 300_000);
});
