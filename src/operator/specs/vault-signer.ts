// keys.provider vault: what the shard and coordinator pods need to sign with their Vault
// transit keys: the `--signer vault` flags, the projected ServiceAccount token (audience for
// Vault) they log in with, and Vault's CA when the cluster names one. Pure.
import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { clusterKeyPrefix, transitKeyName } from '../../keys/vault-plan.ts';
import { AGDR_SPEC_DEFAULTS } from '../types.ts';
import type { AgDRClusterStored } from '../types.ts';

/** Where the pods find their projected token (the default of `--vault-jwt`). */
export const VAULT_TOKEN_DIR = '/var/run/secrets/agdr.dev/vault';
export const VAULT_TOKEN_FILE = 'token';
export const VAULT_CA_DIR = '/etc/agdr/vault-ca';
export const VAULT_CA_FILE = 'ca.crt';
/** Lifetime kubelet gives the projected token; it refreshes it at 80 %. */
export const VAULT_TOKEN_SECONDS = 3600;

/** The cluster's Vault settings with their defaults. */
export interface VaultSettings {
  readonly address: string | undefined;
  readonly transitMount: string;
  readonly authMount: string;
  readonly audience: string;
  readonly caConfigMap: string | undefined;
  readonly role: string | undefined;
  /** The signers' --vault-key-activation (the operator's --vault-key-activation). */
  readonly keyActivationMs: number;
}

/** What the operator's own flags add to a cluster's Vault settings. */
export interface OperatorVaultDefaults {
  readonly address: string | undefined;
  readonly keyActivationMs: number;
}

/** Settings with an address: what a signing pod is built from. */
export type VaultPodSettings = VaultSettings & { readonly address: string };

export function vaultSettings(
  cluster: AgDRClusterStored,
  defaults: OperatorVaultDefaults,
): VaultSettings {
  const v = cluster.spec.keys.vault ?? {};
  return {
    keyActivationMs: defaults.keyActivationMs,
    address: v.address ?? defaults.address,
    transitMount: trimSlashes(v.transitMount ?? AGDR_SPEC_DEFAULTS.transitMount),
    authMount: trimSlashes(v.authMount ?? AGDR_SPEC_DEFAULTS.authMount),
    audience: v.audience ?? AGDR_SPEC_DEFAULTS.audience,
    caConfigMap: v.caConfigMap,
    role: v.authRole,
  };
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, '');
}

/**
 * How often a signer re-reads its key's versions. Fixed, so changing the rotation interval never
 * rolls the pods; a signer whose version Vault refuses (trimmed) re-reads at once anyway.
 */
export const KEY_REFRESH_SECONDS = 15;

/**
 * How old a version must be before no signer of the cluster signs with an older one: the
 * activation delay, one key refresh, and a margin for a slow Vault answer. Older versions are
 * trimmed only after that.
 */
export function signersSettleMs(settings: VaultSettings): number {
  return settings.keyActivationMs + KEY_REFRESH_SECONDS * 1000 + 15_000;
}

/**
 * `--signer vault` flags of a shard (its role named with `$(SHARD_ID)`, which the container
 * expands) or of the coordinator. The transit key name is the default the process derives from
 * --namespace, --cluster and --shard-id.
 */
export function vaultSignerArgs(
  cluster: AgDRClusterStored,
  settings: VaultPodSettings,
  component: 'shard' | 'coordinator',
): string[] {
  const ns = cluster.metadata.namespace ?? 'default';
  // A shard's role is its key's name, `<prefix>shard-<id>`, with the id the pod expands.
  const role =
    component === 'coordinator'
      ? transitKeyName(ns, cluster.metadata.name, 'coordinator')
      : `${clusterKeyPrefix(ns, cluster.metadata.name)}shard-$(SHARD_ID)`;
  return [
    '--signer',
    'vault',
    '--vault-addr',
    settings.address,
    '--vault-transit-mount',
    settings.transitMount,
    '--vault-jwt-mount',
    settings.authMount,
    '--vault-role',
    role,
    '--vault-jwt',
    `${VAULT_TOKEN_DIR}/${VAULT_TOKEN_FILE}`,
    '--vault-key-refresh',
    `${KEY_REFRESH_SECONDS}s`,
    '--vault-key-activation',
    `${Math.ceil(settings.keyActivationMs / 1000)}s`,
    ...(settings.caConfigMap !== undefined
      ? ['--vault-ca', `${VAULT_CA_DIR}/${VAULT_CA_FILE}`]
      : []),
  ];
}

/** The projected token (and CA) volumes a signing pod mounts. */
export function vaultVolumes(settings: VaultSettings): V1Volume[] {
  return [
    {
      name: 'vault-token',
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: settings.audience,
              expirationSeconds: VAULT_TOKEN_SECONDS,
              path: VAULT_TOKEN_FILE,
            },
          },
        ],
      },
    },
    ...(settings.caConfigMap !== undefined
      ? [
          {
            name: 'vault-ca',
            configMap: {
              name: settings.caConfigMap,
              items: [{ key: VAULT_CA_FILE, path: VAULT_CA_FILE }],
            },
          },
        ]
      : []),
  ];
}

export function vaultMounts(settings: VaultSettings): V1VolumeMount[] {
  return [
    { name: 'vault-token', mountPath: VAULT_TOKEN_DIR, readOnly: true },
    ...(settings.caConfigMap !== undefined
      ? [{ name: 'vault-ca', mountPath: VAULT_CA_DIR, readOnly: true }]
      : []),
  ];
}
