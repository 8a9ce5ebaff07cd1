// `agdr operator`: reconciles AgDRCluster resources into shards and a coordinator.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pino from 'pino';
import { defineCommand, UsageError } from './command.ts';
import { parseDuration, parseHttpUrl, parseLogLevel, parsePort } from './client/duration.ts';
import { waitForSignal } from './client/signals.ts';
import { DEFAULT_VAULT_JWT_FILE, trimSlashes } from './signer-flags.ts';
import { startOperator } from '../operator/operator.ts';
import type { OperatorConfig } from '../operator/operator.ts';

export const DEFAULT_IMAGE = 'agdr:0.1.0';
export const DEFAULT_VAULT_ROLE = 'agdr-operator';
/** Vault token TTLs of the pods' roles: renewed for a day, then a fresh login. */
const POD_TOKEN_TTL_SECONDS = 3600;
const POD_TOKEN_MAX_TTL_SECONDS = 86_400;

const help = `agdr operator — reconcile AgDRCluster resources into running shards and a coordinator

Watches AgDRCluster objects (agdr.dev/v1alpha1) and keeps, for each, a shard StatefulSet with
its headless Service and PodDisruptionBudget, the coordinator Deployment with its volume and
Service, the routing table, trust bundle and shard endpoint ConfigMaps, ServiceAccounts and
the signing keys (Vault transit keys, or key Secrets for keys.provider file), all by
server-side apply; rotates and trims Vault keys; writes status (conditions, ready shards,
per-shard tree sizes, the latest global root, keys) and Events. See docs/OPERATOR.md.

Usage: agdr operator [options]

Options:
  --kubeconfig FILE          kubeconfig to use (default: $KUBECONFIG, else the pod's service
                             account: in-cluster configuration)
  --namespace NS             namespace to watch; repeat or comma-separate for several
                             (default: every namespace)
  --no-leader-elect          run without leader election (only when a single operator runs)
  --leader-election-namespace NS
                             namespace of the Lease (default: $POD_NAMESPACE, else the first
                             --namespace, else default)
  --lease-name NAME          name of the Lease (default: agdr-operator)
  --lease-duration DUR       how long a silent leader keeps the Lease (default: 15s)
  --renew-deadline DUR       a leader that cannot renew this long steps down (default: 10s)
  --retry-period DUR         how often candidates try and the leader renews (default: 2s)
  --identity NAME            this process's holder identity (default: hostname-random)
  --host ADDR                address of the metrics/health endpoint (default: 0.0.0.0)
  --port PORT                port of /metrics, /healthz, /readyz (default: 8080; 0 picks one)
  --default-image IMAGE      agdr image for clusters that set none (default: ${DEFAULT_IMAGE})
  --resync DUR               reconcile every cluster at least this often (default: 30s)
  --status-interval DUR      how often a Ready cluster's processes are read for status
                             (default: 10s; 2s at most while it is not Ready)
  --log-level LEVEL          pino level: debug, info, warn, error (default: info)
  -h, --help                 this text

Vault (keys.provider vault; docs/KEYS.md): the operator logs in with its own identity, a policy
limited to its clusters' key prefix, and creates, rotates and trims their transit keys.
  --vault-addr URL           Vault/OpenBao address of clusters that set no keys.vault.address
  --vault-ca FILE            PEM CA of Vault's certificate (clusters may name their own
                             keys.vault.caConfigMap)
  --vault-auth-mount PATH    auth mount the operator logs in at: a JWT or Kubernetes auth
                             method (default: jwt)
  --vault-role ROLE          role the operator logs in as (default: agdr-operator; a cluster's
                             keys.vault.authRole overrides it)
  --vault-jwt FILE           the operator's ServiceAccount token, re-read at every login
                             (default: ${DEFAULT_VAULT_JWT_FILE})
  --vault-token FILE         development: a file holding a Vault token (instead of a login)
  --vault-timeout DUR        per-request timeout (default: 5s)
  --vault-key-activation DUR the pods sign with a rotated key's new version only once it is
                             this old, so every verifier has its public key by then (kubelet
                             refreshes mounted ConfigMaps within about a minute; default: 2m)

A leader that cannot renew the Lease within --renew-deadline (the apiserver down) stops
reconciling and campaigns again.

Exit status: 0 after SIGTERM/SIGINT (stops reconciling, releases the Lease); 1 when the
operator could not start or failed; 2 on bad usage.
`;

function namespacesOf(values: readonly string[]): string[] {
  const out = values.flatMap((v) => v.split(',')).map((v) => v.trim());
  for (const ns of out) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns))
      throw new UsageError(`--namespace: '${ns}' is not a namespace name`);
  }
  return [...new Set(out)];
}

const options = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', multiple: true },
  'no-leader-elect': { type: 'boolean', default: false },
  'leader-election-namespace': { type: 'string' },
  'lease-name': { type: 'string', default: 'agdr-operator' },
  'lease-duration': { type: 'string', default: '15s' },
  'renew-deadline': { type: 'string', default: '10s' },
  'retry-period': { type: 'string', default: '2s' },
  identity: { type: 'string' },
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'string', default: '8080' },
  'default-image': { type: 'string', default: DEFAULT_IMAGE },
  resync: { type: 'string', default: '30s' },
  'status-interval': { type: 'string', default: '10s' },
  'log-level': { type: 'string', default: 'info' },
  'vault-addr': { type: 'string' },
  'vault-ca': { type: 'string' },
  'vault-auth-mount': { type: 'string', default: 'jwt' },
  'vault-role': { type: 'string', default: DEFAULT_VAULT_ROLE },
  'vault-jwt': { type: 'string', default: DEFAULT_VAULT_JWT_FILE },
  'vault-token': { type: 'string' },
  'vault-timeout': { type: 'string', default: '5s' },
  'vault-key-activation': { type: 'string', default: '2m' },
} as const;

/**
 * The operator's config without what comes from the environment: the kubeconfig and the
 * Lease namespace fall back to $KUBECONFIG and $POD_NAMESPACE when the command runs.
 */
export interface OperatorCommandConfig extends Omit<OperatorConfig, 'logger' | 'leaderElection'> {
  readonly leaderElection:
    | (Omit<NonNullable<OperatorConfig['leaderElection']>, 'namespace'> & {
        readonly namespace: string | undefined;
      })
    | undefined;
  readonly logLevel: string;
}

export const command = defineCommand({
  name: 'operator',
  summary: 'reconcile AgDRCluster resources (the Kubernetes operator)',
  help,
  options,
  configure(values): OperatorCommandConfig {
    const namespaces = namespacesOf(values.namespace ?? []);
    const leaseDurationMs = parseDuration(values['lease-duration'], '--lease-duration');
    const renewDeadlineMs = parseDuration(values['renew-deadline'], '--renew-deadline');
    const retryPeriodMs = parseDuration(values['retry-period'], '--retry-period');
    if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs)) {
      throw new UsageError(
        'leader election needs --retry-period < --renew-deadline < --lease-duration',
      );
    }
    const identity = values.identity ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    const token = values['vault-token'];
    return {
      kubeconfig: values.kubeconfig,
      namespaces,
      leaderElection: values['no-leader-elect']
        ? undefined
        : {
            namespace: values['leader-election-namespace'],
            name: values['lease-name'],
            identity,
            leaseDurationMs,
            renewDeadlineMs,
            retryPeriodMs,
          },
      host: values.host,
      port: parsePort(values.port, '--port'),
      defaultImage: values['default-image'],
      resyncMs: parseDuration(values.resync, '--resync'),
      statusIntervalMs: parseDuration(values['status-interval'], '--status-interval'),
      identity,
      vault: {
        defaultAddress:
          values['vault-addr'] !== undefined
            ? parseHttpUrl(values['vault-addr'], '--vault-addr')
            : undefined,
        caFile: values['vault-ca'],
        login:
          token !== undefined
            ? { kind: 'token', tokenFile: token }
            : {
                kind: 'jwt',
                mount: trimSlashes(values['vault-auth-mount'], '--vault-auth-mount'),
                role: values['vault-role'],
                jwtFile: values['vault-jwt'],
              },
        timeoutMs: parseDuration(values['vault-timeout'], '--vault-timeout'),
        keyActivationMs: parseDuration(values['vault-key-activation'], '--vault-key-activation'),
        podTokenTtlSeconds: POD_TOKEN_TTL_SECONDS,
        podTokenMaxTtlSeconds: POD_TOKEN_MAX_TTL_SECONDS,
      },
      logLevel: parseLogLevel(values['log-level']),
    };
  },
  async run({ logLevel, leaderElection, ...rest }) {
    const namespaces = rest.namespaces;
    const config: OperatorConfig = {
      ...rest,
      kubeconfig: rest.kubeconfig ?? process.env.KUBECONFIG,
      leaderElection:
        leaderElection === undefined
          ? undefined
          : {
              ...leaderElection,
              namespace:
                leaderElection.namespace ?? process.env.POD_NAMESPACE ?? namespaces[0] ?? 'default',
            },
      logger: pino({ level: logLevel, base: { svc: 'operator' } }, pino.destination(2)),
    };
    let running;
    try {
      running = await startOperator(config);
    } catch (err) {
      process.stderr.write(`agdr operator: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
    const outcome = await Promise.race([waitForSignal(), running.failed]);
    if (outcome instanceof Error) {
      await running.close();
      process.stderr.write(`agdr operator: stopped: ${outcome.message}\n`);
      return 1;
    }
    config.logger.info({ signal: outcome }, 'shutting down');
    await running.close();
    return 0;
  },
});
