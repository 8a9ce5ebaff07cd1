// One reconcile of one AgDRCluster: read what exists -> build what should exist -> apply ->
// observe -> plan status -> write status and Events -> decide when to look again.
import { randomBytes } from 'node:crypto';
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1PersistentVolumeClaim,
  V1Secret,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CodedError } from '../core/errors.ts';
import { validateEpochTable } from '../core/routing.ts';
import type { EpochTable } from '../core/routing.ts';
import { verifierKeyString } from '../core/note.ts';
import type { IssuerKeysDocument } from '../core/service-account-token.ts';
import { applyAll, ensureCreated } from './apply.ts';
import { recordEvents } from './events.ts';
import type { ClusterKeyProvisioner } from './keys.ts';
import type { Kube } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import { ROUTING_FILE, objectNames } from './names.ts';
import { observe, shardPods } from './observe.ts';
import type { ObjectCache } from './observe.ts';
import type { Blocker, KeysObservation, PublicKeyView } from './plan/observation.ts';
import { lastEpoch, routingDifferences } from './plan/epoch-table.ts';
import { planMigration } from './plan/migration.ts';
import type { MigrationPlan } from './plan/migration.ts';
import { planStatus } from './plan/status.ts';
import type { StatusPlan } from './plan/status.ts';
import type { ProcessReader } from './process-reads.ts';
import {
  desiredRoutingConfigMap,
  desiredShardsConfigMap,
  desiredTrustConfigMap,
  initialEpochTable,
} from './specs/config-maps.ts';
import type { TrustSource } from './specs/config-maps.ts';
import {
  desiredCoordinatorDeployment,
  desiredCoordinatorVolumeClaim,
} from './specs/coordinator.ts';
import {
  desiredKeySecret,
  keyOrigin,
  keySecretName,
  publicKeysOfSecret,
} from './specs/key-secrets.ts';
import type { KeyOwner } from './specs/key-secrets.ts';
import type { BuildOptions } from './specs/pod.ts';
import { desiredIssuerKeysConfigMap, ingestAuthOf } from './specs/ingest-auth.ts';
import { desiredServiceAccounts } from './specs/service-accounts.ts';
import { desiredCoordinatorService, desiredShardService } from './specs/services.ts';
import { desiredShardPdb } from './specs/shard-pdb.ts';
import { desiredShardStatefulSet, shardReplicas } from './specs/shard-statefulset.ts';
import { writeStatusIfChanged } from './status.ts';
import type { AgDRClusterStatus, AgDRClusterStored } from './types.ts';
import { vaultKeyStep } from './vault-keys.ts';
import type { VaultKeyStep } from './vault-keys.ts';

export interface ReconcileContext {
  readonly kube: Kube;
  readonly cache: ObjectCache;
  readonly reader: ProcessReader;
  /** The service-account issuer and its keys (for clusters that authenticate ingest). */
  readonly issuerKeys: () => Promise<IssuerKeysDocument>;
  readonly options: BuildOptions;
  /** This operator's identity in Events (`reportingInstance`). */
  readonly instance: string;
  readonly log: Logger;
  readonly now: () => Date;
  /** The status last written per cluster key (`namespace/name`), with the cluster's uid. */
  readonly written: Map<string, { uid: string | undefined; status: AgDRClusterStatus }>;
  /** How long until the next look at a cluster that is settled / still coming up. */
  readonly settledRequeueMs: number;
  readonly pendingRequeueMs: number;
  /** Provisions, rotates and trims keys.provider vault clusters' keys. */
  readonly vault: ClusterKeyProvisioner;
  readonly metrics?: OperatorMetrics;
}

/** What to do next: every reconcile ends with an explicit requeue decision. */
export interface ReconcileResult {
  readonly requeueAfterMs: number;
  readonly statusWritten: boolean;
}

export class ReconcileError extends CodedError<
  'bad_routing_configmap' | 'bad_key_secret' | 'issuer_keys_unavailable' | 'bad_duration'
> {
  override name = 'ReconcileError';
}

/** The routing table already published, if any; a table that does not validate is an error. */
function publishedTable(cm: V1ConfigMap | undefined): EpochTable | undefined {
  const text = cm?.data?.[ROUTING_FILE];
  if (text === undefined) return undefined;
  try {
    return validateEpochTable(JSON.parse(text));
  } catch (err) {
    throw new ReconcileError(
      'bad_routing_configmap',
      `ConfigMap ${cm?.metadata?.name ?? ''} holds no valid routing table: ${(err as Error).message}`,
    );
  }
}

/** Each key Secret, created if missing; returns its public keys for the trust bundle. */
async function ensureKeys(
  cluster: AgDRClusterStored,
  replicas: number,
  ctx: ReconcileContext,
): Promise<{ sources: TrustSource[]; shardKeys: Map<number, PublicKeyView> }> {
  const ns = cluster.metadata.namespace ?? 'default';
  const owners: KeyOwner[] = [
    ...Array.from({ length: replicas }, (_, shardId) => ({ role: 'shard' as const, shardId })),
    { role: 'coordinator' },
  ];
  const sources: TrustSource[] = [];
  const shardKeys = new Map<number, PublicKeyView>();
  for (const owner of owners) {
    const name = keySecretName(cluster, owner);
    const { object, created } = await ensureCreated<V1Secret>(
      ctx.kube,
      ctx.cache.get<V1Secret>('Secret', ns, name),
      () => desiredKeySecret(cluster, owner, new Uint8Array(randomBytes(32)), ctx.now()),
    );
    if (created) ctx.log.info({ secret: name }, 'key created');
    const origin = keyOrigin(cluster, owner);
    let keys;
    try {
      // A freshly created Secret comes back with data (stringData is folded in by the server).
      keys = publicKeysOfSecret(object, origin);
    } catch (err) {
      throw new ReconcileError('bad_key_secret', (err as Error).message);
    }
    sources.push({
      role: owner.role,
      ...(owner.role === 'shard' ? { shardId: owner.shardId } : {}),
      origin,
      keys,
    });
    const newest = keys[keys.length - 1];
    if (owner.role === 'shard' && newest !== undefined) {
      shardKeys.set(owner.shardId, {
        keyVersion: newest.keyVersion,
        verifierKey: verifierKeyString(origin, newest.publicKey),
      });
    }
  }
  return { sources, shardKeys };
}

/** The issuer keys ConfigMap; a failure names what the operator could not read or check. */
async function issuerKeysConfigMap(
  cluster: AgDRClusterStored,
  ctx: ReconcileContext,
): Promise<V1ConfigMap> {
  try {
    return desiredIssuerKeysConfigMap(cluster, await ctx.issuerKeys());
  } catch (err) {
    throw new ReconcileError(
      'issuer_keys_unavailable',
      `spec.ingest.authentication needs the service-account issuer's keys: ${(err as Error).message}`,
      undefined,
      { cause: err },
    );
  }
}

/** Milliseconds of a CRD duration (`^[0-9]{1,9}(ms|s|m|h)$`, enforced by the schema). */
function specDurationMs(text: string): number {
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(text);
  if (m === null) throw new ReconcileError('bad_duration', `'${text}' is not a duration`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/**
 * Why a published routing table cannot be adopted: it routes differently from what the spec
 * says (routingDifferences).
 */
function routingBlocker(
  cluster: AgDRClusterStored,
  configMap: string,
  table: EpochTable,
): Blocker | undefined {
  const differences = routingDifferences(table, lastEpoch(initialEpochTable(cluster)));
  if (differences.length === 0) return undefined;
  return {
    reason: 'RoutingTableMismatch',
    message:
      `ConfigMap ${configMap} holds the routing table of an earlier AgDRCluster of this name ` +
      `and it routes differently: ${differences.join(', ')}. The table is the routing log of ` +
      'the logs on the kept volumes and is never rewritten, so nothing is created: create the ' +
      "cluster with the table's routing, or delete the ConfigMap, the volumes and the keys " +
      'to start new logs (docs/OPERATOR.md, Deleting an AgDRCluster)',
  };
}

/** Writes status when it differs from what the apiserver holds, and records the Events. */
async function report(
  cluster: AgDRClusterStored,
  plan: StatusPlan,
  ctx: ReconcileContext,
  now: Date,
  log: Logger,
): Promise<{ statusWritten: boolean }> {
  const ns = cluster.metadata.namespace ?? 'default';
  // An unchanged server-side apply after a stale read is a no-op there.
  const statusWritten = await writeStatusIfChanged(
    ctx.kube,
    ns,
    cluster.metadata.name,
    cluster.status,
    plan.status,
  );
  ctx.written.set(`${ns}/${cluster.metadata.name}`, {
    uid: cluster.metadata.uid,
    status: plan.status,
  });
  await recordEvents(ctx.kube, cluster, plan.events, ctx.instance, now, log);
  return { statusWritten };
}

export async function reconcile(
  cluster: AgDRClusterStored,
  ctx: ReconcileContext,
): Promise<ReconcileResult> {
  const ns = cluster.metadata.namespace ?? 'default';
  const names = objectNames(cluster.metadata.name);
  const log = ctx.log.child({ cluster: `${ns}/${cluster.metadata.name}` });
  // The routing table is the routing log: read it from the apiserver when the cache lacks it,
  // so a stale cache can never make a new table replace the published one.
  const routingCm =
    ctx.cache.get<V1ConfigMap>('ConfigMap', ns, names.routingConfigMap) ??
    (await ctx.kube.read<V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name: names.routingConfigMap,
    }));
  const published = publishedTable(routingCm);
  const now = ctx.now();
  // The table outlives the cluster object: a cluster created again under the same name adopts
  // it, unless its spec routes differently (then nothing is applied: the table is the log).
  const blocker =
    published !== undefined
      ? routingBlocker(cluster, names.routingConfigMap, published)
      : undefined;
  const sts = ctx.cache.get<V1StatefulSet>('StatefulSet', ns, names.shardStatefulSet);
  const replicas = shardReplicas(cluster, {
    ...(sts?.spec?.replicas !== undefined ? { replicas: sts.spec.replicas } : {}),
  });
  // A first table covers the shards already running.
  const table = published ?? initialEpochTable(cluster, replicas);
  // The informer may not have delivered our last status write yet: plan from what we wrote, so
  // an Event is never recorded twice for one change.
  const key = `${ns}/${cluster.metadata.name}`;
  const written = ctx.written.get(key);
  const previous =
    written !== undefined && written.uid === cluster.metadata.uid ? written.status : cluster.status;
  if (blocker !== undefined) {
    const observation = await observe({
      cluster,
      cache: ctx.cache,
      reader: ctx.reader,
      routing: table,
      shardKeys: new Map(),
      blocker,
    });
    const plan = planStatus(previous, observation, now);
    return {
      requeueAfterMs: ctx.settledRequeueMs,
      ...(await report(cluster, plan, ctx, now, log)),
    };
  }
  const underway = previous?.migrations?.at(-1);
  const active =
    underway !== undefined && underway.phase !== 'Completed' && underway.phase !== 'Failed'
      ? underway
      : undefined;
  const tableShards = table.epochs[table.epochs.length - 1]?.shards ?? replicas;
  // Keys of every shard id any epoch used (checkpoints of retired shards must still verify) and
  // of the shards a scale-up under way adds: created before the pods that use them.
  const keyed = Math.max(replicas, active?.to ?? 0, ...table.epochs.map((e) => e.shards));
  let shardKeys: Map<number, PublicKeyView>;
  let trust: V1ConfigMap;
  let vault: VaultKeyStep | undefined;
  if (cluster.spec.keys.provider === 'vault') {
    // Keys for spec.shards ahead of a scale up, and for every shard the StatefulSet runs.
    vault = await vaultKeyStep(
      cluster,
      Math.max(keyed, cluster.spec.shards),
      { kube: ctx.kube, cache: ctx.cache, provisioner: ctx.vault, reader: ctx.reader, log },
      now,
    );
    shardKeys = vault.shardKeys;
    trust = vault.trustConfigMap;
  } else {
    const keys = await ensureKeys(cluster, keyed, ctx);
    shardKeys = keys.shardKeys;
    trust = desiredTrustConfigMap(cluster, keys.sources);
  }
  const routing = desiredRoutingConfigMap(cluster, { table });
  const endpoints = shardPods(ctx.cache, cluster, replicas).map(({ id, pod }) => ({
    id,
    ...(pod?.status?.podIP !== undefined ? { podIP: pod.status.podIP } : {}),
  }));
  // A signing workload starts only once its keys exist and are published (keys.provider vault);
  // one that exists is kept in shape whatever Vault does.
  const deployment = ctx.cache.get<V1Deployment>('Deployment', ns, names.coordinatorDeployment);
  const pods = vault?.pods;
  const shardSet =
    vault === undefined
      ? desiredShardStatefulSet(cluster, { replicas }, ctx.options)
      : pods !== undefined && (sts !== undefined || vault.readyForShards >= replicas)
        ? desiredShardStatefulSet(cluster, { replicas }, ctx.options, pods)
        : undefined;
  const coordinator =
    vault === undefined
      ? desiredCoordinatorDeployment(cluster, ctx.options)
      : pods !== undefined && (deployment !== undefined || vault.coordinatorReady)
        ? desiredCoordinatorDeployment(cluster, ctx.options, pods)
        : undefined;
  // The global log's volume, created once, with the coordinator that writes it.
  if (coordinator !== undefined) {
    await ensureCreated<V1PersistentVolumeClaim>(
      ctx.kube,
      await ctx.kube.read<V1PersistentVolumeClaim>({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: ns,
        name: names.coordinatorVolumeClaim,
      }),
      () => desiredCoordinatorVolumeClaim(cluster),
    );
  }
  const objects: KubernetesObject[] = [
    ...desiredServiceAccounts(cluster),
    // Before the StatefulSet: a shard that authenticates cannot start without its keys.
    ...(ingestAuthOf(cluster).mode === 'serviceAccountToken'
      ? [await issuerKeysConfigMap(cluster, ctx)]
      : []),
    routing,
    trust,
    desiredShardsConfigMap(cluster, endpoints),
    desiredShardService(cluster),
    desiredShardPdb(cluster),
    ...(shardSet !== undefined ? [shardSet] : []),
    desiredCoordinatorService(cluster),
    ...(coordinator !== undefined ? [coordinator] : []),
  ];
  await applyAll(ctx.kube, objects);
  let keys: KeysObservation | undefined;
  if (vault !== undefined) {
    keys = await vault.finish();
    ctx.metrics?.keysReadyShards.set(
      { namespace: ns, cluster: cluster.metadata.name },
      keys.readyForShards,
    );
  }

  const observation = await observe({
    cluster,
    cache: ctx.cache,
    reader: ctx.reader,
    routing: table,
    shardKeys,
    ...(keys !== undefined ? { keys } : {}),
    readRouting:
      active !== undefined || cluster.spec.shards !== tableShards || replicas !== tableShards,
  });
  // The next step of a shard migration (plan/migration.ts), from what was just observed; its
  // routing table and replicas are applied before status says it was taken.
  let migration: MigrationPlan | undefined;
  if (shardSet !== undefined) {
    migration = planMigration({
      desiredShards: cluster.spec.shards,
      table,
      replicas,
      history: previous?.migrations ?? [],
      keysReadyBelow: keys !== undefined ? keys.readyForShards : keyed,
      observed: observation,
      params: initialEpochTable(cluster).epochs[0]?.params ?? {},
      leadTimeMs: specDurationMs(cluster.spec.scaling.epochLeadTime),
      now,
    });
    if (vault === undefined && migration.keysWanted > keyed) {
      await ensureKeys(cluster, migration.keysWanted, ctx);
    }
    const changed: KubernetesObject[] = [];
    if (migration.table !== table) {
      log.info({ epoch: migration.table.epochs.at(-1) }, 'routing epoch appended');
      changed.push(desiredRoutingConfigMap(cluster, { table: migration.table }));
    }
    if (migration.replicas !== replicas) {
      log.info({ from: replicas, to: migration.replicas }, 'shard replicas changed');
      changed.push(
        vault?.pods !== undefined
          ? desiredShardStatefulSet(
              cluster,
              { replicas: migration.replicas },
              ctx.options,
              vault.pods,
            )
          : desiredShardStatefulSet(cluster, { replicas: migration.replicas }, ctx.options),
      );
    }
    await applyAll(ctx.kube, changed);
  }
  const plan = planStatus(
    previous,
    { ...observation, routing: migration?.table ?? table },
    now,
    migration,
  );
  const { statusWritten } = await report(cluster, plan, ctx, now, log);
  const ready = plan.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const settled = ready && migration?.active === undefined;
  return {
    // Vault down: look again at the settled pace, not every pending tick.
    requeueAfterMs:
      settled || keys?.vaultError !== undefined ? ctx.settledRequeueMs : ctx.pendingRequeueMs,
    statusWritten,
  };
}
