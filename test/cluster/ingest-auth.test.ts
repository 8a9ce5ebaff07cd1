// Ingest authentication end to end on the real control plane: the operator publishes the
// kube-apiserver's own service-account issuer and JWKS for a cluster with
// spec.ingest.authentication serviceAccountToken, the pod runner runs its shard with the flags
// the operator wrote, and tokens the API server issues (`kubectl create token`, TokenRequest)
// decide: none, another audience or a ServiceAccount not allowed is refused and nothing is
// appended; an allowed ServiceAccount's token appends with `agdr submit --token-file`, and
// reads records with `agdr prove --token-file`. A cluster without authentication is unchanged.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { startOperator } from './harness/agdr-operator.ts';
import type { OperatorProcess } from './harness/agdr-operator.ts';
import { clusterKubectl } from './harness/context.ts';
import type { Kubectl } from './harness/kubectl.ts';
import { AGDR_TEST_IMAGE } from './harness/pod-runner/launch.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AGDR = join(ROOT, 'src/cli/agdr.ts');
const CRD_FILE = join(ROOT, 'crds/agdr.dev_agdrclusters.yaml');
const DECISIONS = join(ROOT, 'examples/decisions.ndjson');

interface ClusterStatus {
  readyShards?: number;
  globalRoot?: { id: number };
  shardStatus?: { id: number; coordinatorStatus?: string; treeSize?: number }[];
  conditions?: { type: string; status: string }[];
}
interface ApiError {
  error: { code: string; reason?: string; message: string };
}

describe('ingest authentication with tokens of the real API server', () => {
  const k: Kubectl = clusterKubectl();
  let ns = '';
  let operator: OperatorProcess | undefined;
  const work = mkdtempSync(join(tmpdir(), 'agdr-ingest-auth-'));
  const lines = readFileSync(DECISIONS, 'utf8').trim().split('\n');

  const status = async (name: string): Promise<ClusterStatus> =>
    (await k.getJson<{ status?: ClusterStatus }>(['agdr', name, '-n', ns])).status ?? {};
  const podUrl = async (pod: string, port: number): Promise<string> => {
    const ip = (await k.getJson<{ status?: { podIP?: string } }>(['pod', pod, '-n', ns])).status
      ?.podIP;
    if (ip === undefined) throw new Error(`${pod} has no IP`);
    return `http://${ip}:${port}`;
  };
  const token = async (sa: string, audience?: string): Promise<string> =>
    (
      await k.run([
        'create',
        'token',
        sa,
        '-n',
        ns,
        '--duration',
        '10m',
        ...(audience !== undefined ? ['--audience', audience] : []),
      ])
    ).trim();
  const post = async (
    url: string,
    body: string,
    t?: string,
  ): Promise<{ status: number; body: ApiError }> => {
    const res = await fetch(`${url}/v1/decisions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(t !== undefined ? { authorization: `Bearer ${t}` } : {}),
      },
      body,
    });
    return { status: res.status, body: (await res.json()) as ApiError };
  };
  const treeSize = async (url: string): Promise<number> =>
    ((await (await fetch(`${url}/readyz`)).json()) as { tree_size: number }).tree_size;
  const agdr = (args: string[]): Promise<{ stdout: string; stderr: string }> =>
    run(process.execPath, [AGDR, ...args], { cwd: work, timeout: 120_000 });
  const apply = (name: string, spec: object): Promise<string> =>
    k.apply(
      stringify({
        apiVersion: 'agdr.dev/v1alpha1',
        kind: 'AgDRCluster',
        metadata: { name, namespace: ns },
        spec: {
          shards: 1,
          aggregation: { interval: '1s' },
          keys: { provider: 'file' },
          storage: { size: '1Gi' },
          ...spec,
        },
      }),
    );
  const readyAndSealed = (name: string): Promise<void> =>
    k.waitFor(
      `${name}: its shard ready and sealed`,
      async () => {
        const s = await status(name);
        const ready = s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return ready === true && s.shardStatus?.[0]?.coordinatorStatus === 'ok'
          ? null
          : JSON.stringify(s);
      },
      180_000,
    );

  beforeAll(async () => {
    await k.apply(readFileSync(CRD_FILE, 'utf8'));
    await k.run(['wait', '--for=condition=Established', 'crd/agdrclusters.agdr.dev']);
    ns = await k.createNamespace('ingest-auth');
    for (const sa of ['desk', 'intruder']) await k.run(['create', 'serviceaccount', sa, '-n', ns]);
    operator = await startOperator('ingest-auth', ns, ['--default-image', AGDR_TEST_IMAGE]);
    await apply('authed', {
      ingest: {
        authentication: {
          mode: 'serviceAccountToken',
          allowedServiceAccounts: [{ namespace: ns, name: 'desk' }],
        },
      },
      reads: { access: 'authenticated' },
    });
    await apply('open', {});
    await Promise.all([readyAndSealed('authed'), readyAndSealed('open')]);
  });

  afterAll(async () => {
    await operator?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("publishes the API server's issuer and JWKS, and runs the shard with the cluster's policy", async () => {
    const cm = await k.getJson<{ data: Record<string, string> }>([
      'configmap',
      'authed-issuer-keys',
      '-n',
      ns,
    ]);
    const published = JSON.parse(cm.data['issuer-keys.json'] as string) as {
      issuer: string;
      keys: unknown[];
    };
    const discovery = JSON.parse(
      await k.run(['get', '--raw', '/.well-known/openid-configuration']),
    ) as { issuer: string };
    const jwks = JSON.parse(await k.run(['get', '--raw', '/openid/v1/jwks'])) as {
      keys: unknown[];
    };
    expect(published).toEqual({ issuer: discovery.issuer, keys: jwks.keys });
    const sts = await k.getJson<{
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    }>(['statefulset', 'authed-shard', '-n', ns]);
    const args = sts.spec.template.spec.containers[0]?.args ?? [];
    expect(args.slice(args.indexOf('--auth'))).toEqual([
      '--auth',
      'serviceAccountToken',
      '--auth-issuer-keys',
      '/etc/agdr/auth/issuer-keys.json',
      '--auth-audience',
      `agdr.dev/${ns}/authed`,
      '--allow-writer',
      `${ns}/desk`,
      '--reads',
      'authenticated',
    ]);
  });

  it('refuses no token, a token for another audience and a ServiceAccount not allowed; nothing is appended', async () => {
    const url = await podUrl('authed-shard-0', 7071);
    const before = await treeSize(url);
    const body = lines[0] as string;
    const none = await post(url, body);
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ code: 'unauthenticated', reason: 'missing_token' });
    // The API server's default audience (its own), and another cluster's.
    for (const audience of [undefined, `agdr.dev/${ns}/open`]) {
      const other = await post(url, body, await token('desk', audience));
      expect(other.status, String(audience)).toBe(401);
      expect(other.body.error).toMatchObject({ code: 'invalid_token', reason: 'wrong_audience' });
    }
    const intruder = await post(url, body, await token('intruder', `agdr.dev/${ns}/authed`));
    expect(intruder.status).toBe(403);
    expect(intruder.body.error.code).toBe('forbidden');
    expect(intruder.body.error.message).toContain(`${ns}/intruder may not append`);
    expect(await treeSize(url)).toBe(before);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/agdr_shard_auth_failures_total\{reason="forbidden",action="append"/);
  });

  it('appends with the allowed ServiceAccount token through agdr submit --token-file, and proves with it', async () => {
    const url = await podUrl('authed-shard-0', 7071);
    const before = await treeSize(url);
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, await token('desk', `agdr.dev/${ns}/authed`));
    const submitted = await agdr([
      'submit',
      DECISIONS,
      '--shards',
      url,
      '--token-file',
      tokenFile,
      '--json',
    ]);
    const receipts = submitted.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record_id: string });
    expect(receipts).toHaveLength(lines.length);
    expect(await treeSize(url)).toBe(before + lines.length);

    // Records are readable only with a token; checkpoints stay open, so the coordinator seals.
    expect((await fetch(`${url}/v1/records/0`)).status).toBe(401);
    expect((await fetch(`${url}/v1/checkpoint`)).status).toBe(200);
    const coordinator = await podUrl(
      (
        await k.getJson<{ items: { metadata: { name: string } }[] }>([
          'pods',
          '-n',
          ns,
          '-l',
          'app.kubernetes.io/instance=authed,app.kubernetes.io/component=coordinator',
        ])
      ).items[0]?.metadata.name as string,
      7070,
    );
    const recordId = receipts[0]?.record_id as string;
    const prove = ['prove', '--coordinator', coordinator, '--record-id', recordId, '--wait', '30s'];
    const refused = await agdr([...prove, '--out', 'refused.json']).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(refused?.code).toBe(1);
    await agdr([...prove, '--token-file', tokenFile, '--out', 'bundle.json']);
    const trust = (
      await k.getJson<{ data: Record<string, string> }>(['configmap', 'authed-trust', '-n', ns])
    ).data['trust.json'] as string;
    writeFileSync(join(work, 'trust.json'), trust);
    const verified = await agdr(['verify', 'bundle.json', '--trust', 'trust.json']);
    expect(verified.stdout + verified.stderr).toMatch(/ok|verified|valid/i);
  });

  it('a cluster without authentication appends without a token, as before', async () => {
    const url = await podUrl('open-shard-0', 7071);
    const before = await treeSize(url);
    const r = await post(url, lines[1] as string);
    expect(r.status).toBe(201);
    expect(await treeSize(url)).toBe(before + 1);
    expect((await fetch(`${url}/v1/records/0`)).status).toBe(200);
    await expect(k.run(['get', 'configmap', 'open-issuer-keys', '-n', ns])).rejects.toThrow(
      /NotFound|not found/,
    );
  });
});
