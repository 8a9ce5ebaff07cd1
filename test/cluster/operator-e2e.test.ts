// The operator end to end with real processes: `agdr operator` runs against the control plane,
// the pod runner runs its shard and coordinator pods as `agdr` processes on their pod IPs, and
// the cluster serves `agdr submit`, `agdr prove` and `agdr verify` like any AgDR deployment.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

import { submitProveVerify } from './harness/agdr-cli.ts';
import {
  TIER_TIMING,
  applyCrd,
  clusterEventReasons,
  startOperator,
} from './harness/agdr-operator.ts';
import type { OperatorProcess } from './harness/agdr-operator.ts';
import { clusterKubectl } from './harness/context.ts';
import type { Kubectl } from './harness/kubectl.ts';
import { AGDR_TEST_IMAGE } from './harness/pod-runner/launch.ts';
import { sleep } from './harness/process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples/agdrcluster-file-keys.yaml');

interface ShardStatus {
  id: number;
  ready?: boolean;
  treeSize?: number;
  lastSealedSize?: number;
  coordinatorStatus?: string;
}
interface MissingShard {
  id: number;
  since?: string;
  missedIntervals?: number;
  firstMissedGlobalRootId?: number;
  reason?: string;
}
interface ClusterStatus {
  readyShards?: number;
  missingShards?: MissingShard[];
  routingEpoch?: number;
  globalRoot?: { id: number; root: string; timestampNs: string };
  shardStatus?: ShardStatus[];
  conditions?: { type: string; status: string; reason: string }[];
}
interface Pod {
  metadata: { name: string };
  status?: {
    podIP?: string;
    containerStatuses?: { containerID?: string; restartCount?: number }[];
  };
}

describe('agdr operator with real shards and a coordinator', () => {
  const k: Kubectl = clusterKubectl();
  let ns = '';
  let operator: OperatorProcess | undefined;
  const work = mkdtempSync(join(tmpdir(), 'agdr-operator-e2e-'));
  const name = (parse(readFileSync(EXAMPLE, 'utf8')) as { metadata: { name: string } }).metadata
    .name;

  const status = async (): Promise<ClusterStatus> =>
    (await k.getJson<{ status?: ClusterStatus }>(['agdr', name, '-n', ns])).status ?? {};
  const ready = (s: ClusterStatus): boolean =>
    s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const pod = (podName: string): Promise<Pod> => k.getJson<Pod>(['pod', podName, '-n', ns]);
  const coordinatorUrl = async (): Promise<string> => {
    const pods = await k.getJson<{ items: Pod[] }>([
      'pods',
      '-n',
      ns,
      '-l',
      `app.kubernetes.io/instance=${name},app.kubernetes.io/component=coordinator`,
    ]);
    const ip = pods.items[0]?.status?.podIP;
    if (ip === undefined) throw new Error('coordinator pod has no IP');
    return `http://${ip}:7070`;
  };
  const eventReasons = (): Promise<string[]> => clusterEventReasons(k, ns, name);
  const events = async (): Promise<{ reason: string; note: string; eventTime: string }[]> =>
    (
      await k.getJson<{
        items: { reason: string; note: string; eventTime: string; regarding: { name: string } }[];
      }>(['events.events.k8s.io', '-n', ns])
    ).items.filter((e) => e.regarding.name === name);
  /** `kubectl apply` of the example, in this test's namespace. */
  const applyExample = async (): Promise<void> => {
    const example = parse(readFileSync(EXAMPLE, 'utf8')) as { metadata: { namespace?: string } };
    example.metadata.namespace = ns;
    await k.apply(stringify(example));
  };
  const containerPid = (p: Pod): number =>
    Number(
      /^agdr-runner:\/\/(\d+)$/.exec(p.status?.containerStatuses?.[0]?.containerID ?? '')?.[1],
    );

  beforeAll(async () => {
    await applyCrd(k);
    ns = await k.createNamespace('operator-e2e');
    operator = await startOperator('e2e', ns, ['--default-image', AGDR_TEST_IMAGE]);
  });

  afterAll(async () => {
    await operator?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('kubectl apply of the example: 3/3 ready, the epoch and a global root that advances', async () => {
    const applied = Date.now();
    await applyExample();
    await k.waitFor(
      '3/3 shards ready and sealed',
      async () => {
        const s = await status();
        return ready(s) && s.readyShards === 3 ? null : JSON.stringify(s.conditions ?? []);
      },
      180_000,
    );
    console.log(`apply to Ready (3 shards, real processes): ${(Date.now() - applied) / 1000} s`);
    const first = (await status()).globalRoot?.id ?? -1;
    await k.waitFor(
      'the global root advances',
      async () => (((await status()).globalRoot?.id ?? -1) > first + 1 ? null : 'not yet'),
      30_000,
    );
    const table = (await k.run(['get', 'agdr', name, '-n', ns])).trim().split('\n');
    expect(table[0]?.split(/\s{2,}/)).toEqual([
      'NAME',
      'SHARDS',
      'READY',
      'EPOCH',
      'GLOBAL ROOT',
      'AGE',
    ]);
    const row = table[1]?.split(/\s+/) ?? [];
    expect(row.slice(0, 4)).toEqual([name, '3', '3', '0']);
    expect(Number(row[4])).toBeGreaterThan(first);
    const s = await status();
    expect(s.shardStatus?.map((x) => [x.id, x.ready, x.coordinatorStatus])).toEqual([
      [0, true, 'ok'],
      [1, true, 'ok'],
      [2, true, 'ok'],
    ]);
    expect(s.globalRoot?.root).toMatch(/^[0-9a-f]{64}$/);
  });

  it('agdr submit to the cluster, then agdr prove and agdr verify (keys pinned) succeed', async () => {
    const url = await coordinatorUrl();
    const trust = (
      await k.getJson<{ data: Record<string, string> }>(['configmap', `${name}-trust`, '-n', ns])
    ).data['trust.json'] as string;
    const receipts = await submitProveVerify(work, url, trust);
    expect(new Set(receipts.map((r) => r.shard_id)).size).toBeGreaterThan(1);
    // Tree sizes reach status.
    await k.waitFor(
      'tree sizes in status',
      async () => {
        const total = ((await status()).shardStatus ?? []).reduce(
          (n, x) => n + (x.treeSize ?? 0),
          0,
        );
        return total >= receipts.length ? null : `total ${total}`;
      },
      30_000,
    );
  });

  it('a killed shard process: the pod restarts, status shows it not ready then ready, Events, sealed again', async () => {
    const podName = `${name}-shard-1`;
    const before = await pod(podName);
    const pid = containerPid(before);
    expect(pid).toBeGreaterThan(0);
    const sizeBefore = (await status()).shardStatus?.[1]?.treeSize ?? 0;
    process.kill(pid, 'SIGKILL');
    await k.waitFor(
      'shard 1 not ready in status',
      async () => ((await status()).shardStatus?.[1]?.ready === false ? null : 'still ready'),
      30_000,
    );
    await k.waitFor(
      'shard 1 ready and sealed again',
      async () => {
        const s = (await status()).shardStatus?.[1];
        return s?.ready === true &&
          s.coordinatorStatus === 'ok' &&
          (s.lastSealedSize ?? 0) >= sizeBefore &&
          ready(await status())
          ? null
          : JSON.stringify(s);
      },
      120_000,
    );
    expect(
      (await pod(podName)).status?.containerStatuses?.[0]?.restartCount,
    ).toBeGreaterThanOrEqual(1);
    await k.waitFor(
      'ShardNotReady, ShardReady and Recovered events',
      async () => {
        const r = await eventReasons();
        const missing = ['ShardNotReady', 'Degraded', 'ShardReady', 'Recovered'].filter(
          (x) => !r.includes(x),
        );
        return missing.length === 0 ? null : `missing ${missing.join(', ')}`;
      },
      30_000,
    );
  });

  it('a shard process stopped for a few intervals: missingShards, Degraded ShardMissing and ShardMissing, then ShardReconstructed and the reconstruction record in the global log', async () => {
    await k.waitFor(
      'Ready before the stop',
      async () => (ready(await status()) ? null : 'not ready'),
      60_000,
    );
    const pid = containerPid(await pod(`${name}-shard-2`));
    expect(pid).toBeGreaterThan(0);
    const stoppedAt = Date.now();
    // SIGSTOP: the process holds its port and files but answers nothing, like a hung node. Its
    // liveness probe (10 s x 3) leaves it alone for the few intervals (1 s) it stays stopped.
    process.kill(pid, 'SIGSTOP');
    let missing: MissingShard | undefined;
    try {
      await k.waitFor(
        'shard 2 in missingShards for 2+ intervals, Degraded ShardMissing',
        async () => {
          const s = await status();
          missing = s.missingShards?.find((m) => m.id === 2);
          const degraded = s.conditions?.find((c) => c.type === 'Degraded');
          return (missing?.missedIntervals ?? 0) >= 2 &&
            degraded?.status === 'True' &&
            degraded.reason === 'ShardMissing'
            ? null
            : JSON.stringify({ missing, degraded });
        },
        30_000,
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    console.log(`shard 2 stopped ${(Date.now() - stoppedAt) / 1000} s: ${JSON.stringify(missing)}`);
    expect(missing?.reason).toMatch(/no answer within \d+ ms|unreachable|timed out/);
    expect(Date.parse(missing?.since ?? '')).toBeGreaterThanOrEqual(
      Math.floor(stoppedAt / 1000) * 1000 - 2000,
    );
    const first = missing?.firstMissedGlobalRootId as number;
    expect(first).toBeGreaterThanOrEqual(0);

    await k.waitFor(
      'missingShards empty, Ready, and ShardMissing then ShardReconstructed Events',
      async () => {
        const s = await status();
        // Shard 2's episode only: the previous test's shard 1 restart may be reconstructed late.
        const recent = (await events()).filter(
          (e) => Date.parse(e.eventTime) >= stoppedAt - 1000 && e.note.startsWith('shard 2 '),
        );
        const order = recent
          .map((e) => e.reason)
          .filter((r) => r === 'ShardMissing' || r === 'ShardReconstructed');
        return (s.missingShards ?? []).length === 0 &&
          ready(s) &&
          order.join(',') === 'ShardMissing,ShardReconstructed'
          ? null
          : JSON.stringify({ missing: s.missingShards, order });
      },
      60_000,
    );
    const reconstructed = (await events()).find(
      (e) =>
        e.reason === 'ShardReconstructed' &&
        e.note.startsWith('shard 2 ') &&
        Date.parse(e.eventTime) >= stoppedAt - 1000,
    );
    const index = Number(/global log entry (\d+)/.exec(reconstructed?.note ?? '')?.[1]);
    expect(reconstructed?.note).toMatch(
      /^shard 2 reconstructed: global log entry \d+ seals it at size \d+/,
    );
    // The coordinator's own record: a reconstruction of shard 2 covering the first missed root.
    const entry = (await (await fetch(`${await coordinatorUrl()}/v1/records/${index}`)).json()) as {
      index: number;
      record: { type: string; shard_id: number; missed_intervals: { global_root_id: number }[] };
    };
    expect(entry.index).toBe(index);
    expect(entry.record.type).toBe('reconstruction');
    expect(entry.record.shard_id).toBe(2);
    expect(entry.record.missed_intervals.map((m) => m.global_root_id)).toContain(first);
    expect(entry.record.missed_intervals.length).toBeGreaterThanOrEqual(2);
  });

  it('a restarted operator changes nothing the cluster owns across two resyncs', async () => {
    const versions = async (): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      for (const kind of [
        'statefulsets',
        'deployments',
        'services',
        'poddisruptionbudgets',
        'configmaps',
        'serviceaccounts',
        'secrets',
        'pvc',
      ]) {
        const list = await k.getJson<{
          items: { metadata: { name: string; resourceVersion: string } }[];
        }>([kind, '-n', ns, '-l', `app.kubernetes.io/instance=${name}`]);
        for (const o of list.items) out[`${kind}/${o.metadata.name}`] = o.metadata.resourceVersion;
      }
      return out;
    };
    const before = await versions();
    await operator?.stop();
    operator = await startOperator('e2e-2', ns, ['--default-image', AGDR_TEST_IMAGE]);
    await sleep(2 * TIER_TIMING.resyncS * 1000 + 3000);
    expect(await versions()).toEqual(before);
    // The cluster keeps advancing under the new operator.
    const id = (await status()).globalRoot?.id ?? 0;
    await k.waitFor(
      'status follows the global root',
      async () => (((await status()).globalRoot?.id ?? 0) > id ? null : 'not yet'),
      30_000,
    );
  });
  it('deleted and created again under the same name: it adopts the routing table and trust bundle, resumes the same logs and becomes Ready', async () => {
    const configMaps = async (): Promise<Record<string, unknown>> => {
      const out: Record<string, unknown> = {};
      for (const cm of [`${name}-routing`, `${name}-trust`]) {
        const o = await k.getJson<{ metadata: { resourceVersion: string }; data: unknown }>([
          'configmap',
          cm,
          '-n',
          ns,
        ]);
        out[cm] = { resourceVersion: o.metadata.resourceVersion, data: o.data };
      }
      return out;
    };
    const globalRoot = async (id: number): Promise<unknown> => {
      const res = await fetch(`${await coordinatorUrl()}/v1/global-roots/${id}`, {
        signal: AbortSignal.timeout(5000),
      });
      expect(res.status).toBe(200);
      return res.json();
    };
    const kept = await configMaps();
    const last = (await status()).globalRoot?.id ?? 0;
    const sealed = await globalRoot(last);
    await k.run(['delete', 'agdr', name, '-n', ns, '--wait=true']);
    await k.waitFor(
      'the pods gone',
      async () => {
        const pods = await k.getJson<{ items: Pod[] }>([
          'pods',
          '-n',
          ns,
          '-l',
          `app.kubernetes.io/instance=${name}`,
        ]);
        return pods.items.length === 0 ? null : pods.items.map((p) => p.metadata.name).join(', ');
      },
      60_000,
    );
    expect(await configMaps()).toEqual(kept);
    const applied = Date.now();
    await applyExample();
    await k.waitFor(
      'Ready again, sealing past the last global root before the deletion',
      async () => {
        const s = await status();
        return ready(s) && s.readyShards === 3 && (s.globalRoot?.id ?? -1) > last
          ? null
          : JSON.stringify({ root: s.globalRoot?.id, conditions: s.conditions ?? [] });
      },
      180_000,
    );
    console.log(`re-created to Ready (3 shards, adopted logs): ${(Date.now() - applied) / 1000} s`);
    // The same global log, resumed: the root sealed before the deletion is still there.
    expect(await globalRoot(last)).toEqual(sealed);
    // Adopted as they were: nothing rewrote the table or the bundle.
    expect(await configMaps()).toEqual(kept);
    expect((await status()).routingEpoch).toBe(0);
  });
});
