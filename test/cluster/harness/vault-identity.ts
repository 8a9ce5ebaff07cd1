// Pod identities for the Vault key tests: Vault's JWT auth trusting the test apiserver's
// ServiceAccount issuer (its public key and issuer, as a cluster without OIDC discovery would be
// configured), a transit engine, and pod-bound ServiceAccount tokens minted with the TokenRequest
// API (`kubectl create token --bound-object-kind Pod`) for pods KWOK keeps on its fake nodes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify } from 'yaml';

import { VaultClient, VaultSession } from '../../../src/keys/vault-client.ts';
import {
  clusterKeysPlan,
  operatorPolicy,
  type SignerKeyPlan,
} from '../../../src/keys/vault-plan.ts';
import { StaticToken } from '../../../src/keys/vault-token.ts';
import type { ClusterInfo } from './cluster.ts';
import type { Kubectl } from './kubectl.ts';

/** The apiserver's --service-account-issuer (cluster.ts). */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const VAULT_AUDIENCE = 'vault';
export const JWT_MOUNT = 'jwt';
/** The transit mount of the key tests (apart from vault-transit.test.ts's `transit`). */
export const KEYS_MOUNT = 'agdr-keys';
/** The AgDR cluster name the key tests use, and its shard pods' ServiceAccount. */
export const KEYS_CLUSTER = 'desk';
export const SHARD_SERVICE_ACCOUNT = 'desk-shard';

/** `desk-shard-<i>`: the shard pods' names. */
export const shardPod = (shard: number): string => `${KEYS_CLUSTER}-shard-${shard}`;

/** The key plan of the test cluster in `namespace`: the given shards and the coordinator. */
export function testKeysPlan(namespace: string, shards: readonly number[]): SignerKeyPlan[] {
  return clusterKeysPlan({
    namespace,
    cluster: KEYS_CLUSTER,
    shards: shards.map((shard) => ({
      shard,
      podName: shardPod(shard),
      serviceAccount: SHARD_SERVICE_ACCOUNT,
    })),
    coordinator: { podName: undefined, serviceAccount: `${KEYS_CLUSTER}-coordinator` },
    transitMount: KEYS_MOUNT,
    jwtMount: JWT_MOUNT,
    audience: VAULT_AUDIENCE,
    tokenTtlSeconds: 300,
    tokenMaxTtlSeconds: 3600,
  });
}

/** A session with the harness's root token (what an administrator or the operator would hold). */
export function rootSession(info: ClusterInfo): VaultSession {
  return new VaultSession(
    new VaultClient({ address: info.vaultAddr, timeoutMs: 5_000 }),
    new StaticToken(info.vaultToken),
  );
}

/** Enables the transit engine at `mount` and JWT auth for the test cluster's tokens (once). */
export async function enableKeyEngines(
  root: VaultSession,
  info: ClusterInfo,
  mount: string,
): Promise<void> {
  const mounts = (await root.read('sys/mounts')).data as Record<string, unknown>;
  if (!(`${mount}/` in mounts)) await root.write(`sys/mounts/${mount}`, { type: 'transit' });
  const auths = (await root.read('sys/auth')).data as Record<string, unknown>;
  if (!(`${JWT_MOUNT}/` in auths)) {
    await root.write(`sys/auth/${JWT_MOUNT}`, { type: 'jwt' });
  }
  await root.write(`auth/${JWT_MOUNT}/config`, {
    jwt_validation_pubkeys: [readFileSync(join(info.workDir, 'pki', 'sa.pub'), 'utf8')],
    bound_issuer: SERVICE_ACCOUNT_ISSUER,
  });
}

/** A ServiceAccount and pods using it, on the fake nodes; resolves once every pod exists. */
export async function createSignerPods(
  kubectl: Kubectl,
  namespace: string,
  serviceAccount: string,
  pods: readonly string[],
): Promise<void> {
  const docs: unknown[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } },
    ...pods.map((name) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        serviceAccountName: serviceAccount,
        nodeSelector: { type: 'kwok' },
        containers: [{ name: 'signer', image: 'registry.k8s.io/pause:3.10' }],
      },
    })),
  ];
  await kubectl.apply(docs.map((d) => stringify(d)).join('---\n'));
}

/** `kubectl create token` (audience vault) written to `file` as kubelet would, mode 0600. */
async function writeToken(
  kubectl: Kubectl,
  namespace: string,
  serviceAccount: string,
  args: readonly string[],
  file: string,
): Promise<string> {
  const jwt = (
    await kubectl.run([
      ...['create', 'token', serviceAccount, '-n', namespace, '--audience', VAULT_AUDIENCE],
      ...args,
    ])
  ).trim();
  writeFileSync(file, jwt + '\n', { mode: 0o600 });
  return file;
}

/**
 * A projected-style ServiceAccount token for one pod (audience vault, bound to the pod, so it
 * dies with it), written to `dir/<namespace>.<pod>.jwt` as kubelet would; returns the file.
 */
export function mintPodToken(
  kubectl: Kubectl,
  namespace: string,
  serviceAccount: string,
  pod: string,
  dir: string,
): Promise<string> {
  return writeToken(
    kubectl,
    namespace,
    serviceAccount,
    ['--bound-object-kind', 'Pod', '--bound-object-name', pod, '--duration', '20m'],
    join(dir, `${namespace}.${pod}.jwt`),
  );
}

/**
 * The operator's own Vault identity, as an administrator sets it up (docs/KEYS.md): a policy
 * limited to the key prefix of `namespace` (`agdr_<namespace>_`) and a JWT role for the
 * operator's ServiceAccount; returns the role name.
 */
export async function createOperatorRole(
  root: VaultSession,
  namespace: string,
  serviceAccount: string,
  transitMount: string,
): Promise<string> {
  const name = `agdr-operator-${namespace}`;
  await root.write(`sys/policies/acl/${name}`, {
    policy: operatorPolicy(transitMount, JWT_MOUNT, [`agdr_${namespace}_`]),
  });
  await root.write(`auth/${JWT_MOUNT}/role/${name}`, {
    role_type: 'jwt',
    bound_audiences: [VAULT_AUDIENCE],
    bound_subject: `system:serviceaccount:${namespace}:${serviceAccount}`,
    user_claim: 'sub',
    token_policies: [name],
    token_ttl: 600,
    token_max_ttl: 3600,
  });
  return name;
}

/** A ServiceAccount (created) and its token (audience vault, not bound to a pod) in `dir`. */
export async function mintServiceAccountToken(
  kubectl: Kubectl,
  namespace: string,
  serviceAccount: string,
  dir: string,
): Promise<string> {
  await kubectl.apply(
    stringify({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: serviceAccount, namespace },
    }),
  );
  return writeToken(
    kubectl,
    namespace,
    serviceAccount,
    ['--duration', '1h'],
    join(dir, `${namespace}.${serviceAccount}.jwt`),
  );
}
