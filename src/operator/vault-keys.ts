// The key step of a reconcile for `keys.provider: vault`: provision and rotate the cluster's
// transit keys (keys.ts), plan the trust bundle from what is published and what Vault reports
// (plan/keys.ts), and, once the trust ConfigMap holding every removed version is applied, trim.
// A trim waits until every running signer's latest checkpoint is signed by a kept version (read
// from the processes only when a trim is due). A Vault failure is a fact for status, never a
// thrown error: everything else still reconciles.
import type { V1ConfigMap, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { validateTrustBundle } from '../clients/index.ts';
import type { TrustedKey } from '../clients/index.ts';
import { coordinatorOrigin, shardOrigin } from '../core/checkpoint.ts';
import { CodedError, reasonOf } from '../core/errors.ts';
import type { Kube } from './kube.ts';
import type { ClusterKeyProvisioner, ClusterKeysRequest, VaultFailure } from './keys.ts';
import { VAULT_NOT_CONFIGURED } from './keys.ts';
import { COORDINATOR_PORT, SHARD_PORT, TRUST_FILE, objectNames, shardPodName } from './names.ts';
import { coordinatorPodOf, readyPodUrl, shardPods } from './observe.ts';
import type { ObjectCache } from './observe.ts';
import {
  crdDurationMs,
  currentKey,
  keysReadyForShards,
  latestSignedBy,
  planTrust,
  rotationDueAt,
  trimTarget,
  vaultTimeMs,
} from './plan/keys.ts';
import type { LatestSigned, SignerKeyState } from './plan/keys.ts';
import type { ProcessReader } from './process-reads.ts';
import type { KeysObservation, PublicKeyView } from './plan/observation.ts';
import { trustConfigMapOf } from './specs/config-maps.ts';
import { VAULT_CA_FILE, signersSettleMs, vaultSettings } from './specs/vault-signer.ts';
import type { VaultPodSettings } from './specs/vault-signer.ts';
import type { AgDRClusterStored } from './types.ts';

export class TrustConfigMapError extends CodedError<'bad_trust_configmap'> {
  override name = 'TrustConfigMapError';
}

export interface VaultKeyStep {
  /** The trust ConfigMap to apply (before any signing workload). */
  readonly trustConfigMap: V1ConfigMap;
  /** Settings of the signing pods; undefined while no Vault address is configured. */
  readonly pods: VaultPodSettings | undefined;
  readonly shardKeys: Map<number, PublicKeyView>;
  readonly readyForShards: number;
  readonly coordinatorReady: boolean;
  /** After the trust ConfigMap is applied: trims, and the observation for status. */
  finish(): Promise<KeysObservation>;
}

export interface VaultKeyContext {
  readonly kube: Kube;
  readonly cache: ObjectCache;
  readonly provisioner: ClusterKeyProvisioner;
  /** Reads the signers' latest checkpoints before a trim. */
  readonly reader: ProcessReader;
  readonly log: Logger;
}

/** The published trust keys: the ConfigMap is the only store of trimmed public keys. */
async function publishedKeys(
  cluster: AgDRClusterStored,
  ctx: VaultKeyContext,
): Promise<TrustedKey[]> {
  const ns = cluster.metadata.namespace ?? 'default';
  const name = objectNames(cluster.metadata.name).trustConfigMap;
  // Read from the apiserver when the cache lacks it: a stale cache must never drop a key.
  const cm =
    ctx.cache.get<V1ConfigMap>('ConfigMap', ns, name) ??
    (await ctx.kube.read<V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: ns,
      name,
    }));
  const text = cm?.data?.[TRUST_FILE];
  if (text === undefined) return [];
  try {
    return validateTrustBundle(JSON.parse(text)).keys;
  } catch (err) {
    throw new TrustConfigMapError(
      'bad_trust_configmap',
      `ConfigMap ${name} holds no valid trust bundle (${reasonOf(err)}); it is the only copy of ` +
        'trimmed public keys, so it is not rewritten',
    );
  }
}

/** Vault's CA: the cluster's ConfigMap, else the operator's own. */
async function caPemOf(
  cluster: AgDRClusterStored,
  configMap: string | undefined,
  ctx: VaultKeyContext,
): Promise<{ pem: string | undefined } | { error: VaultFailure }> {
  if (configMap === undefined) return { pem: ctx.provisioner.defaultCaPem };
  const ns = cluster.metadata.namespace ?? 'default';
  const cm = await ctx.kube.read<V1ConfigMap>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    namespace: ns,
    name: configMap,
  });
  const pem = cm?.data?.[VAULT_CA_FILE];
  if (pem === undefined) {
    return {
      error: {
        code: 'vault_ca_missing',
        message: `keys.vault.caConfigMap: ConfigMap ${ns}/${configMap} has no ${VAULT_CA_FILE}`,
      },
    };
  }
  return { pem };
}

/**
 * The latest checkpoint of each running signer of `keys`: the shards the StatefulSet runs and
 * the coordinator once its Deployment exists. A signer that runs no process is left out (nothing
 * it signs can be left behind by a trim); one whose pod is not ready or whose checkpoint cannot
 * be read is `unknown` (its key is not trimmed).
 */
async function latestSignedOf(
  cluster: AgDRClusterStored,
  keys: readonly SignerKeyState[],
  ctx: VaultKeyContext,
): Promise<Map<string, LatestSigned>> {
  const ns = cluster.metadata.namespace ?? 'default';
  const names = objectNames(cluster.metadata.name);
  const sts = ctx.cache.get<V1StatefulSet>('StatefulSet', ns, names.shardStatefulSet);
  const replicas = sts?.spec?.replicas ?? 0;
  const shards = shardPods(ctx.cache, cluster, replicas);
  const coordinatorRuns =
    ctx.cache.get<V1Deployment>('Deployment', ns, names.coordinatorDeployment) !== undefined;
  const read = async (k: SignerKeyState): Promise<[string, LatestSigned] | undefined> => {
    let url: string | undefined;
    if (k.role === 'coordinator') {
      if (!coordinatorRuns) return undefined;
      url = readyPodUrl(coordinatorPodOf(ctx.cache, cluster), COORDINATOR_PORT);
    } else {
      if (k.shardId === undefined || k.shardId >= replicas) return undefined;
      url = readyPodUrl(shards[k.shardId]?.pod, SHARD_PORT);
    }
    if (url === undefined) return [k.origin, { unknown: 'its pod is not ready' }];
    try {
      const note = await ctx.reader.latestCheckpoint(url, k.role);
      return [k.origin, latestSignedBy(note, k.origin, k.info.versions)];
    } catch (err) {
      return [k.origin, { unknown: `its checkpoint could not be read: ${reasonOf(err)}` }];
    }
  };
  return new Map((await Promise.all(keys.map(read))).filter((e) => e !== undefined));
}

export async function vaultKeyStep(
  cluster: AgDRClusterStored,
  wantedShards: number,
  ctx: VaultKeyContext,
  now: Date,
): Promise<VaultKeyStep> {
  const ns = cluster.metadata.namespace ?? 'default';
  const name = cluster.metadata.name;
  const settings = vaultSettings(cluster, ctx.provisioner.defaults);
  const names = objectNames(name);
  const intervalMs = crdDurationMs(
    cluster.spec.keys.rotation.interval,
    'spec.keys.rotation.interval',
  );
  const published = await publishedKeys(cluster, ctx);
  const ca = await caPemOf(cluster, settings.caConfigMap, ctx);
  let request: ClusterKeysRequest | undefined;
  let provisioned: Awaited<ReturnType<ClusterKeyProvisioner['provision']>> = {
    keys: [],
    rotated: [],
    error: 'error' in ca ? ca.error : VAULT_NOT_CONFIGURED,
  };
  if (settings.address !== undefined && 'pem' in ca) {
    request = {
      namespace: ns,
      cluster: name,
      shards: wantedShards,
      shardServiceAccount: names.shardServiceAccount,
      coordinatorServiceAccount: names.coordinatorServiceAccount,
      shardPodName: (id) => shardPodName(name, id),
      address: settings.address,
      caPem: ca.pem,
      role: settings.role,
      transitMount: settings.transitMount,
      authMount: settings.authMount,
      audience: settings.audience,
      rotationIntervalMs: intervalMs,
      now,
    };
    provisioned = await ctx.provisioner.provision(request);
  }
  const policy = {
    // Nothing is trimmed while Vault fails (a trim needs it anyway).
    retainVersions:
      provisioned.error === undefined ? cluster.spec.keys.rotation.retainVersions : undefined,
    settleMs: signersSettleMs(settings),
  };
  // The signers' checkpoints are read only for keys that would otherwise be trimmed now.
  const due = provisioned.keys.filter((k) => trimTarget(k.info, policy, now) !== undefined);
  const latestSigned = due.length > 0 ? await latestSignedOf(cluster, due, ctx) : new Map();
  const plan = planTrust(published, provisioned.keys, { ...policy, latestSigned }, now);
  // At each reconcile while it waits; the KeyTrimWaiting Event (logged too) says when it starts.
  for (const w of plan.waits) {
    ctx.log.debug(
      { key: w.key, signer: w.origin, keep_from: w.keepFrom, latest: w.latest },
      "key trim waits for the signer's latest checkpoint to be signed by a kept version",
    );
  }
  const shardKeys = new Map<number, PublicKeyView>();
  for (let id = 0; id < wantedShards; id++) {
    const k = currentKey(plan.keys, shardOrigin(ns, name, id));
    if (k !== undefined)
      shardKeys.set(id, { keyVersion: k.key_version, verifierKey: k.verifier_key });
  }
  const readyForShards = keysReadyForShards(plan.keys, (id) => shardOrigin(ns, name, id));
  const coordinatorKey = currentKey(plan.keys, coordinatorOrigin(ns, name));
  const createdTimes = provisioned.keys.flatMap((k) =>
    k.info.versions.filter((v) => v.version > 1).map((v) => vaultTimeMs(v.createdAt) ?? 0),
  );
  const dues = provisioned.keys.flatMap((k) => {
    const due = rotationDueAt(k.info, intervalMs);
    return due !== undefined ? [due.getTime()] : [];
  });
  return {
    trustConfigMap: trustConfigMapOf(cluster, plan.keys),
    pods: settings.address !== undefined ? { ...settings, address: settings.address } : undefined,
    shardKeys,
    readyForShards,
    coordinatorReady: coordinatorKey !== undefined,
    async finish() {
      const trim =
        request !== undefined && plan.trims.size > 0
          ? await ctx.provisioner.trim(request, plan.trims)
          : { trimmed: [] };
      const error = provisioned.error ?? trim.error;
      return {
        readyForShards,
        coordinatorReady: coordinatorKey !== undefined,
        wantedShards,
        ...(error !== undefined ? { vaultError: error } : {}),
        conflicts: plan.conflicts,
        trimWaits: plan.waits,
        rotated: provisioned.rotated,
        trimmed: trim.trimmed,
        ...(createdTimes.length > 0 ? { lastRotation: new Date(Math.max(...createdTimes)) } : {}),
        ...(dues.length > 0 ? { nextRotation: new Date(Math.min(...dues)) } : {}),
        ...(coordinatorKey !== undefined
          ? { coordinatorKeyVersion: coordinatorKey.key_version }
          : {}),
      };
    },
  };
}
