// What an AgDR cluster needs in Vault, as plain data: one transit key per shard and one for the
// coordinator, a policy that may sign with exactly that key (and read its public halves), and a
// JWT auth role that gives that policy only to the one pod (namespace, ServiceAccount, pod name
// bound from the pod's projected ServiceAccount token). Pure: `vault-provision.ts` applies it.
//
// Names: `agdr_<namespace>_<cluster>_shard-<i>` and `agdr_<namespace>_<cluster>_coordinator`
// for the key, its policy and its role alike. Kubernetes names never contain `_`, so the parts
// cannot run into each other: two clusters never share a name, and the prefix
// `agdr_<namespace>_<cluster>_` covers one cluster's names and nothing else.
import { FieldError } from '../core/errors.ts';
import type { TransitKeyInfo, TransitKeyVersion } from './transit.ts';

/** Bad input to a key plan; `path` is the input field at fault (`namespace`, `shards[2].podName`). */
export class KeyPlanError extends FieldError<'invalid_key_plan'> {
  override name = 'KeyPlanError';
  constructor(path: string, message: string) {
    super('invalid_key_plan', path, message);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export type KeyComponent = { readonly shard: number } | 'coordinator';

function checkName(path: string, value: string, re: RegExp, what: string): void {
  if (!re.test(value)) throw new KeyPlanError(path, `'${value}' is not a ${what}`);
}

/** Name prefix of every key, policy and role of one cluster. */
export function clusterKeyPrefix(namespace: string, cluster: string): string {
  checkName('namespace', namespace, DNS_LABEL, 'DNS label (a Kubernetes namespace name)');
  checkName('cluster', cluster, DNS_SUBDOMAIN, 'DNS subdomain (a Kubernetes object name)');
  return `agdr_${namespace}_${cluster}_`;
}

/** The transit key (also policy and role) name of a shard or the coordinator of a cluster. */
export function transitKeyName(
  namespace: string,
  cluster: string,
  component: KeyComponent,
): string {
  const prefix = clusterKeyPrefix(namespace, cluster);
  if (component === 'coordinator') return `${prefix}coordinator`;
  if (!Number.isSafeInteger(component.shard) || component.shard < 0) {
    throw new KeyPlanError('shard', `${component.shard} is not a shard id`);
  }
  return `${prefix}shard-${component.shard}`;
}

/** HCL of the policy that may sign with `key` and read its public halves, nothing else. */
export function signingPolicy(mount: string, key: string): string {
  return [
    `# AgDR signing key ${key}: sign with it, read its public keys.`,
    `path "${mount}/sign/${key}" {`,
    `  capabilities = ["update"]`,
    `}`,
    `path "${mount}/keys/${key}" {`,
    `  capabilities = ["read"]`,
    `}`,
    '',
  ].join('\n');
}

/**
 * HCL of the policy the operator logs in with: create, rotate, configure and trim the keys of
 * its clusters (one prefix each) and write their signing policies and roles. It cannot sign,
 * export or delete a key.
 */
export function operatorPolicy(
  mount: string,
  jwtMount: string,
  prefixes: readonly string[],
): string {
  const lines = ["# AgDR operator: provisions, rotates and trims its clusters' signing keys."];
  for (const p of prefixes) {
    lines.push(
      `path "${mount}/keys/${p}*" {`,
      `  capabilities = ["create", "read", "update"]`,
      `}`,
      `path "sys/policies/acl/${p}*" {`,
      `  capabilities = ["create", "read", "update"]`,
      `}`,
      `path "auth/${jwtMount}/role/${p}*" {`,
      `  capabilities = ["create", "read", "update"]`,
      `}`,
    );
  }
  return lines.join('\n') + '\n';
}

export interface SigningRoleInput {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The one pod allowed; undefined binds the ServiceAccount only (a pod with no stable name). */
  readonly podName: string | undefined;
  readonly policy: string;
  /** `aud` the projected token must carry. */
  readonly audience: string;
  readonly tokenTtlSeconds: number;
  readonly tokenMaxTtlSeconds: number;
}

/** The body of `auth/<jwt>/role/<name>`: the policy for tokens of exactly this pod. */
export function signingRole(r: SigningRoleInput): Record<string, unknown> {
  const boundClaims: Record<string, string> = { '/kubernetes.io/namespace': r.namespace };
  if (r.podName !== undefined) boundClaims['/kubernetes.io/pod/name'] = r.podName;
  return {
    role_type: 'jwt',
    bound_audiences: [r.audience],
    bound_subject: `system:serviceaccount:${r.namespace}:${r.serviceAccount}`,
    bound_claims_type: 'string',
    bound_claims: boundClaims,
    user_claim:
      r.podName !== undefined ? '/kubernetes.io/pod/name' : '/kubernetes.io/serviceaccount/name',
    user_claim_json_pointer: true,
    token_policies: [r.policy],
    token_ttl: r.tokenTtlSeconds,
    token_max_ttl: r.tokenMaxTtlSeconds,
    token_type: 'service',
  };
}

export interface SignerPod {
  /** Pod name (StatefulSet pods have stable ones); undefined: any pod of the ServiceAccount. */
  readonly podName: string | undefined;
  readonly serviceAccount: string;
}

export interface ClusterKeysInput {
  readonly namespace: string;
  readonly cluster: string;
  readonly shards: readonly (SignerPod & { readonly shard: number })[];
  readonly coordinator: SignerPod;
  /** Transit mount path (default `transit`) and JWT auth mount path (default `jwt`). */
  readonly transitMount: string;
  readonly jwtMount: string;
  readonly audience: string;
  readonly tokenTtlSeconds: number;
  readonly tokenMaxTtlSeconds: number;
}

/** Everything one signer (a shard or the coordinator) needs in Vault. */
export interface SignerKeyPlan {
  readonly component: KeyComponent;
  /** Transit key, policy and role name (one name for all three). */
  readonly name: string;
  readonly keyPath: string;
  /** Body that creates the key: ed25519, never exportable, no plaintext backup. */
  readonly keyBody: Record<string, unknown>;
  readonly policyPath: string;
  readonly policy: string;
  readonly rolePath: string;
  readonly role: Record<string, unknown>;
}

export const TRANSIT_KEY_BODY = Object.freeze({
  type: 'ed25519',
  exportable: false,
  allow_plaintext_backup: false,
});

/** The keys, policies and roles of one cluster, shards first (in the order given). */
export function clusterKeysPlan(c: ClusterKeysInput): SignerKeyPlan[] {
  if (c.tokenTtlSeconds < 1 || c.tokenMaxTtlSeconds < c.tokenTtlSeconds) {
    throw new KeyPlanError('tokenTtlSeconds', 'want 1 <= token TTL <= token max TTL');
  }
  const seen = new Set<number>();
  const one = (component: KeyComponent, pod: SignerPod, path: string): SignerKeyPlan => {
    const name = transitKeyName(c.namespace, c.cluster, component);
    if (pod.podName !== undefined) {
      checkName(`${path}.podName`, pod.podName, DNS_SUBDOMAIN, 'pod name');
    }
    checkName(`${path}.serviceAccount`, pod.serviceAccount, DNS_SUBDOMAIN, 'ServiceAccount name');
    return {
      component,
      name,
      keyPath: `${c.transitMount}/keys/${name}`,
      keyBody: { ...TRANSIT_KEY_BODY },
      policyPath: `sys/policies/acl/${name}`,
      policy: signingPolicy(c.transitMount, name),
      rolePath: `auth/${c.jwtMount}/role/${name}`,
      role: signingRole({
        namespace: c.namespace,
        serviceAccount: pod.serviceAccount,
        podName: pod.podName,
        policy: name,
        audience: c.audience,
        tokenTtlSeconds: c.tokenTtlSeconds,
        tokenMaxTtlSeconds: c.tokenMaxTtlSeconds,
      }),
    };
  };
  const plans = c.shards.map((s, i) => {
    if (seen.has(s.shard)) throw new KeyPlanError(`shards[${i}].shard`, `shard ${s.shard} twice`);
    seen.add(s.shard);
    return one({ shard: s.shard }, s, `shards[${i}]`);
  });
  plans.push(one('coordinator', c.coordinator, 'coordinator'));
  return plans;
}

/** How to trim a key down to its newest `retainVersions` versions, or undefined if it need not. */
export interface TrimPlan {
  /** Lowest version kept; also min_decryption_version and min_encryption_version. */
  readonly minVersion: number;
  /** The versions trim deletes, with their public keys (keep them: trim deletes those too). */
  readonly removed: readonly TransitKeyVersion[];
}

export function trimPlan(info: TransitKeyInfo, retainVersions: number): TrimPlan | undefined {
  if (!Number.isSafeInteger(retainVersions) || retainVersions < 1) {
    throw new KeyPlanError('retainVersions', `${retainVersions} is not a whole number >= 1`);
  }
  const minVersion = Math.max(1, info.latestVersion - retainVersions + 1);
  if (minVersion <= Math.max(1, info.minAvailableVersion)) return undefined;
  return { minVersion, removed: info.versions.filter((v) => v.version < minVersion) };
}
