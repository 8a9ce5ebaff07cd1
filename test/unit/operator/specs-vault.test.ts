// keys.provider vault in the pod templates: the `--signer vault` flags each process accepts (read
// back through the real commands' flag parsing), the projected token and the CA volume.
import { describe, expect, it } from 'vitest';
import { command as coordinatorCommand } from '../../../src/cli/coordinator.ts';
import { command as shardCommand } from '../../../src/cli/shard.ts';
import { desiredCoordinatorDeployment } from '../../../src/operator/specs/coordinator.ts';
import { desiredShardStatefulSet } from '../../../src/operator/specs/shard-statefulset.ts';
import { vaultSettings, type VaultPodSettings } from '../../../src/operator/specs/vault-signer.ts';
import { OPTIONS, cluster } from './fixtures.ts';

const vaulted = cluster()
  .withKeys('vault')
  .with({
    keys: {
      provider: 'vault',
      vault: {
        address: 'https://vault.vault.svc:8200',
        transitMount: 'agdr-keys',
        caConfigMap: 'vault-ca',
      },
      rotation: { interval: '1h' },
    },
  })
  .build();

const DEFAULTS = { address: 'http://fallback:8200', keyActivationMs: 120_000 };

function pods(c = vaulted): VaultPodSettings {
  const s = vaultSettings(c, DEFAULTS);
  return { ...s, address: s.address as string };
}

/** `$(VAR)` as the container runtime expands it. */
const expand = (args: string[], env: Record<string, string>): string[] =>
  args.map((a) => a.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? `$(${v})`));

describe('vault settings', () => {
  it('take the cluster address, else the operator default, and fill the defaults', () => {
    expect(vaultSettings(vaulted, DEFAULTS)).toEqual({
      address: 'https://vault.vault.svc:8200',
      transitMount: 'agdr-keys',
      authMount: 'jwt',
      audience: 'vault',
      caConfigMap: 'vault-ca',
      role: undefined,
      keyActivationMs: 120_000,
    });
    const bare = cluster().withKeys('vault').build();
    expect(vaultSettings(bare, DEFAULTS).address).toBe('http://fallback:8200');
    expect(vaultSettings(bare, { ...DEFAULTS, address: undefined }).address).toBeUndefined();
  });
});

describe('shard StatefulSet with Vault keys', () => {
  const sts = desiredShardStatefulSet(vaulted, {}, OPTIONS, pods());
  const pod = sts.spec?.template.spec;
  const container = pod?.containers[0];

  it('signs with the shard own role and key, as agdr shard parses its flags', () => {
    const args = expand(container?.args ?? [], { SHARD_ID: '2', POD_IP: '10.244.0.9' });
    const config = shardCommand.configure(args.slice(1));
    expect(config.signer).toEqual({
      kind: 'vault',
      address: 'https://vault.vault.svc:8200',
      caFile: '/etc/agdr/vault-ca/ca.crt',
      mount: 'agdr-keys',
      key: undefined,
      login: {
        kind: 'jwt',
        role: 'agdr_prod_decisions_shard-2',
        jwtFile: '/var/run/secrets/agdr.dev/vault/token',
        mount: 'jwt',
      },
      timeoutMs: 5000,
      refreshMs: 15_000,
      activationMs: 120_000,
    });
    expect(container?.args).not.toContain('--key');
  });

  it('mounts a projected token for Vault and the CA, and no key Secret', () => {
    expect(pod?.volumes?.find((v) => v.name === 'vault-token')?.projected?.sources).toEqual([
      { serviceAccountToken: { audience: 'vault', expirationSeconds: 3600, path: 'token' } },
    ]);
    expect(pod?.volumes?.find((v) => v.name === 'vault-ca')?.configMap).toEqual({
      name: 'vault-ca',
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
    expect(pod?.volumes?.some((v) => v.name === 'keys')).toBe(false);
    expect(container?.volumeMounts?.map((m) => m.mountPath)).toEqual(
      expect.arrayContaining(['/var/run/secrets/agdr.dev/vault', '/etc/agdr/vault-ca']),
    );
    // The API token stays unmounted: only the Vault-audience token is in the pod.
    expect(pod?.automountServiceAccountToken).toBe(false);
  });
});

describe('coordinator Deployment with Vault keys', () => {
  it('signs with the coordinator role, as agdr coordinator parses its flags', () => {
    const d = desiredCoordinatorDeployment(vaulted, OPTIONS, pods());
    const c = d.spec?.template.spec?.containers[0];
    const config = coordinatorCommand.configure(
      expand(c?.args ?? [], { POD_IP: '10.0.0.1' }).slice(1),
    );
    expect(config.signer).toMatchObject({
      kind: 'vault',
      login: { kind: 'jwt', role: 'agdr_prod_decisions_coordinator', mount: 'jwt' },
    });
    expect(d.spec?.template.spec?.volumes?.some((v) => v.name === 'key')).toBe(false);
    expect(d.spec?.template.spec?.volumes?.some((v) => v.name === 'vault-token')).toBe(true);
  });
});
