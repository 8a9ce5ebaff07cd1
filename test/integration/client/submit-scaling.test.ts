// `agdr submit` through a routing change: decisions stream in stamped with the current time
// while the cluster scales 2 -> 3 shards at a boundary a few seconds ahead; every decision is
// acknowledged by the shard the epoch in force at its timestamp names, so every decision after
// the boundary goes by the new epoch (the client reloads the table when the shards' routing
// hash changes, or on a 421).
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { epochTableHash, routeDecision } from '../../../src/core/routing.ts';
import type { EpochTable, RoutingEpoch } from '../../../src/core/routing.ts';
import { sdkLine, upstreamRecord } from '../../fixtures/records.ts';
import {
  freePort,
  initCluster,
  killAll,
  spawnAgdr,
  startCoordinatorProcess,
  startShardOf,
  tempDir,
  waitFor,
} from '../e2e/harness.ts';
import type { ClusterFiles } from '../e2e/harness.ts';

let dir: string;
let files: ClusterFiles;
let coordinator: string;
let epoch0: RoutingEpoch;
const ports: number[] = [];

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

function publishRouting(table: EpochTable): void {
  const tmp = `${files.routing}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(table));
  fs.renameSync(tmp, files.routing);
}

async function startShard(id: number): Promise<void> {
  await startShardOf(files, id, ports[id]);
}

beforeAll(async () => {
  dir = tempDir('submit-scaling');
  files = await initCluster(dir, 3);
  const initial = JSON.parse(fs.readFileSync(files.routing, 'utf8')) as EpochTable;
  epoch0 = { ...(initial.epochs[0] as RoutingEpoch), shards: 2 };
  publishRouting({ epochs: [epoch0] });
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  await Promise.all([0, 1].map(startShard));
  const list = ports.map((p, i) => `${i}=http://127.0.0.1:${p}`).join(',');
  coordinator = (await startCoordinatorProcess(files, list, ['--shard-timeout', '500ms'])).url;
});

afterAll(async () => {
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Printed {
  line: number;
  record_id: string;
  shard_id: number;
  routing: { epoch: number };
}

describe('agdr submit through a scale-up', () => {
  it('routes every decision after the boundary by the new epoch', async () => {
    const submit = spawnAgdr(['submit', '-', '--coordinator', coordinator, '--json']);
    const stdin = submit.child.stdin as NodeJS.WritableStream;
    const sent: Record<string, unknown>[] = [];
    const emit = (): void => {
      const i = sent.length;
      const record = upstreamRecord(i, {
        id: `scale-${i}`,
        timestampNs: nowNs(),
        ctx: { entity_id: `entity-${i % 40}` },
      });
      sent.push(record);
      stdin.write(sdkLine(record) + '\n');
    };
    const stream = async (ms: number): Promise<void> => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        for (let k = 0; k < 5; k++) emit();
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    await stream(1500);
    // Scale up as the operator does: the new shard first, then the epoch at a future boundary.
    await startShard(2);
    const boundary = nowNs() + 2_500_000_000n;
    const table1: EpochTable = {
      epochs: [epoch0, { ...epoch0, epoch: 1, shards: 3, effective_from_ns: String(boundary) }],
    };
    publishRouting(table1);
    await stream(5000);
    stdin.end();
    expect(await submit.exited, submit.stderr()).toBe(0);

    const printed = submit.lines.map((l) => JSON.parse(l) as Printed);
    expect(printed).toHaveLength(sent.length);
    const byEpoch = new Map<number, number>();
    for (const p of printed) {
      const decision = sent[p.line - 1] as Record<string, unknown>;
      expect(p.record_id).toBe(decision.record_id);
      const want = routeDecision(decision, table1);
      expect([p.shard_id, p.routing.epoch]).toEqual([want.shard, want.epoch]);
      expect(want.epoch).toBe((decision.timestamp_ns as bigint) >= boundary ? 1 : 0);
      byEpoch.set(want.epoch, (byEpoch.get(want.epoch) ?? 0) + 1);
    }
    expect(byEpoch.get(0)).toBeGreaterThan(100);
    expect(byEpoch.get(1)).toBeGreaterThan(100);
    expect(new Set(printed.filter((p) => p.routing.epoch === 1).map((p) => p.shard_id))).toEqual(
      new Set([0, 1, 2]),
    );
    // The shards serve the new table, and the client followed it without a restart.
    await waitFor('shard 2 on the new table', async () => {
      const res = await fetch(`http://127.0.0.1:${ports[2]}/v1/routing`);
      await res.arrayBuffer();
      return res.headers.get('x-agdr-routing-hash') === epochTableHash(table1) ? true : undefined;
    });
  });
});
