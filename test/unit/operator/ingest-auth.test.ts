// Ingest authentication in the operator's builders: spec.ingest / spec.reads become the shard's
// flags (parsed back with `agdr shard`'s own flag parser) and a mounted issuer keys ConfigMap;
// clusters without it are built exactly as before. The issuer document is checked before it is
// published, and read from the API server at most once per TTL.
import { describe, expect, it } from 'vitest';
import { command as shardCommand } from '../../../src/cli/shard.ts';
import {
  cachedIssuerKeys,
  issuerKeysDocument,
  IssuerDiscoveryError,
} from '../../../src/operator/issuer-keys.ts';
import {
  desiredIssuerKeysConfigMap,
  shardAuthArgs,
} from '../../../src/operator/specs/ingest-auth.ts';
import { desiredShardStatefulSet } from '../../../src/operator/specs/shard-statefulset.ts';
import { testIssuer } from '../../fixtures/sa-tokens.ts';
import { OPTIONS, cluster } from './fixtures.ts';

const authed = cluster()
  .with({
    ingest: {
      authentication: {
        mode: 'serviceAccountToken',
        allowedServiceAccounts: [{ namespace: 'agents', name: 'desk' }, { namespace: 'batch' }],
      },
    },
    reads: { access: 'authenticated', allowedServiceAccounts: [{ namespace: 'audit' }] },
  })
  .build();

describe('shard StatefulSet with ingest authentication', () => {
  const sts = desiredShardStatefulSet(authed, {}, OPTIONS);
  const pod = sts.spec?.template.spec;
  const container = pod?.containers[0];

  it('passes the policy as agdr shard flags that its own parser accepts', () => {
    const args = container?.args ?? [];
    expect(args.slice(args.indexOf('--auth'))).toEqual([
      '--auth',
      'serviceAccountToken',
      '--auth-issuer-keys',
      '/etc/agdr/auth/issuer-keys.json',
      '--auth-audience',
      'agdr.dev/prod/decisions',
      '--allow-writer',
      'agents/desk',
      '--allow-writer',
      'batch',
      '--reads',
      'authenticated',
      '--allow-reader',
      'audit',
    ]);
    const parsed = shardCommand.configure(
      args.slice(1).map((a) => a.replace('$(SHARD_ID)', '0').replace('$(POD_IP)', '10.0.0.1')),
    );
    expect(parsed.auth).toEqual({
      mode: 'serviceAccountToken',
      issuerKeysFile: '/etc/agdr/auth/issuer-keys.json',
      audience: 'agdr.dev/prod/decisions',
      writers: [{ namespace: 'agents', serviceAccount: 'desk' }, { namespace: 'batch' }],
      reads: 'authenticated',
      readers: [{ namespace: 'audit' }],
    });
  });

  it('mounts the issuer keys ConfigMap read-only', () => {
    expect(container?.volumeMounts).toContainEqual({
      name: 'auth',
      mountPath: '/etc/agdr/auth',
      readOnly: true,
    });
    expect(pod?.volumes).toContainEqual({
      name: 'auth',
      configMap: { name: 'decisions-issuer-keys' },
    });
  });

  it('keeps the audience the spec names, and gives a shard no API token of its own', () => {
    const named = cluster()
      .with({
        ingest: {
          authentication: {
            mode: 'serviceAccountToken',
            audience: 'ledger.example',
            allowedServiceAccounts: [{ namespace: 'agents' }],
          },
        },
      })
      .build();
    const args = shardAuthArgs(named);
    expect(args[args.indexOf('--auth-audience') + 1]).toBe('ledger.example');
    expect(args[args.indexOf('--reads') + 1]).toBe('open');
    expect(pod?.automountServiceAccountToken).toBe(false);
  });

  it('builds a cluster without authentication (or with mode none) exactly as before', () => {
    const plain = desiredShardStatefulSet(cluster().build(), {}, OPTIONS);
    const none = desiredShardStatefulSet(
      cluster()
        .with({ ingest: { authentication: { mode: 'none' } }, reads: { access: 'open' } })
        .build(),
      {},
      OPTIONS,
    );
    expect(none).toEqual(plain);
    expect(plain.spec?.template.spec?.containers[0]?.args).not.toContain('--auth');
    expect(plain.spec?.template.spec?.volumes?.map((v) => v.name)).not.toContain('auth');
  });
});

describe('issuer keys ConfigMap', () => {
  it('publishes the issuer and its keys, owned by the cluster', () => {
    const { document } = testIssuer();
    const cm = desiredIssuerKeysConfigMap(authed, document);
    expect(cm.metadata?.name).toBe('decisions-issuer-keys');
    expect(cm.metadata?.ownerReferences?.[0]?.uid).toBe('uid-1');
    expect(JSON.parse(cm.data?.['issuer-keys.json'] ?? '')).toEqual(document);
  });

  it('refuses a document the shards would refuse', () => {
    expect(() =>
      desiredIssuerKeysConfigMap(authed, { issuer: 'i', keys: [{ kty: 'oct' }] }),
    ).toThrow(/\$\.keys\[0\]\.kty/);
    expect(() => issuerKeysDocument(undefined, { keys: [] })).toThrow(IssuerDiscoveryError);
    expect(() => issuerKeysDocument('https://i', { keys: [] })).toThrow(/holds no keys/);
  });

  it('reads the API server at most once per TTL, and again after a failure', async () => {
    const { document } = testIssuer();
    let reads = 0;
    let fail = false;
    let now = 0;
    const get = cachedIssuerKeys(
      {
        serviceAccountIssuer: async () => {
          reads++;
          if (fail) throw new Error('apiserver away');
          return { issuer: document.issuer, jwks: { keys: document.keys } };
        },
      },
      60_000,
      () => now,
    );
    expect(await get()).toEqual(document);
    now = 59_999;
    await get();
    expect(reads).toBe(1);
    now = 60_000;
    fail = true;
    await expect(get()).rejects.toThrow('apiserver away');
    fail = false;
    expect(await get()).toEqual(document);
    expect(reads).toBe(3);
  });
});
