// The operator's one side effect on Vault: logs in with its own identity (JWT or Kubernetes auth
// with its ServiceAccount token, or a development token), creates each cluster's transit keys,
// signing policies and pod-bound JWT roles (src/keys/vault-plan.ts), rotates keys when due and
// trims them once their public keys are published. Vault failures are returned as values, never
// thrown: a Vault outage must not stop the reconcile of anything else.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { coordinatorOrigin, shardOrigin } from '../core/checkpoint.ts';
import { CodedError, reasonOf } from '../core/errors.ts';
import type { TransitKeyInfo } from '../keys/transit.ts';
import { VaultClient, VaultSession } from '../keys/vault-client.ts';
import type { VaultTokenProvider } from '../keys/vault-client.ts';
import { clusterKeysPlan } from '../keys/vault-plan.ts';
import type { SignerKeyPlan } from '../keys/vault-plan.ts';
import { applySignerKeyPlan, rotateTransitKey, trimTransitKeyTo } from '../keys/vault-provision.ts';
import { JwtLogin, StaticToken, VaultLoginError } from '../keys/vault-token.ts';
import type { OperatorMetrics } from './metrics.ts';
import { rotationDue } from './plan/keys.ts';
import type { SignerKeyState } from './plan/keys.ts';

/** How the operator logs in to Vault (its own flags; a cluster may name another role). */
export interface OperatorVaultConfig {
  /** Address of clusters whose `keys.vault.address` is empty. */
  readonly defaultAddress: string | undefined;
  /** PEM CA of Vault's certificate for clusters that name no `keys.vault.caConfigMap`. */
  readonly caPem: string | undefined;
  readonly login:
    | {
        readonly kind: 'jwt';
        readonly mount: string;
        readonly role: string;
        readonly jwtFile: string;
      }
    | { readonly kind: 'token'; readonly tokenFile: string };
  readonly timeoutMs: number;
  /** A new key version signs only once it is this old (verifiers learn it first). */
  readonly keyActivationMs: number;
  /** Pods' Vault token TTL and max TTL (their roles' token_ttl, token_max_ttl). */
  readonly podTokenTtlSeconds: number;
  readonly podTokenMaxTtlSeconds: number;
}

/** One cluster's keys as the reconcile asks for them. */
export interface ClusterKeysRequest {
  readonly namespace: string;
  readonly cluster: string;
  /** Keys for shards 0..shards-1 and the coordinator. */
  readonly shards: number;
  readonly shardServiceAccount: string;
  readonly coordinatorServiceAccount: string;
  readonly shardPodName: (id: number) => string;
  readonly address: string;
  readonly caPem: string | undefined;
  /** Operator login role for this cluster; the configured one when undefined. */
  readonly role: string | undefined;
  readonly transitMount: string;
  readonly authMount: string;
  readonly audience: string;
  readonly rotationIntervalMs: number;
  readonly now: Date;
}

export interface VaultFailure {
  readonly code: string;
  readonly message: string;
}

export interface ProvisionResult {
  /** Each signer's key as last read from Vault (possibly from an earlier reconcile). */
  readonly keys: SignerKeyState[];
  readonly rotated: { readonly key: string; readonly version: number }[];
  readonly error?: VaultFailure;
}

/** A plan applied and the key read back, with when: re-applied after RECHECK_MS. */
interface Applied {
  readonly fingerprint: string;
  readonly atMs: number;
  readonly info: TransitKeyInfo;
}

/** How often an applied key plan is applied again (repairs a deleted role or policy). */
export const RECHECK_MS = 5 * 60_000;

async function readTokenFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new VaultLoginError(
      'token_file_unreadable',
      `cannot read the Vault token file ${file}: ${(err as NodeJS.ErrnoException).code ?? reasonOf(err)}`,
    );
  }
}

function failureOf(err: unknown): VaultFailure {
  // Only typed errors of the Vault layer are an outage; anything else is a bug and is thrown.
  if (err instanceof CodedError) return { code: err.code, message: reasonOf(err) };
  throw err;
}

export class ClusterKeyProvisioner {
  readonly #config: OperatorVaultConfig;
  readonly #log: Logger;
  readonly #metrics: OperatorMetrics | undefined;
  readonly #sessions = new Map<
    string,
    { session: VaultSession; tokens: VaultTokenProvider & { close(): Promise<void> } }
  >();
  readonly #applied = new Map<string, Applied>();

  constructor(config: OperatorVaultConfig, log: Logger, metrics?: OperatorMetrics) {
    this.#config = config;
    this.#log = log;
    this.#metrics = metrics;
  }

  /** The operator's defaults for every cluster's Vault settings. */
  get defaults(): { address: string | undefined; keyActivationMs: number } {
    return { address: this.#config.defaultAddress, keyActivationMs: this.#config.keyActivationMs };
  }

  get defaultCaPem(): string | undefined {
    return this.#config.caPem;
  }

  async #session(
    address: string,
    caPem: string | undefined,
    role: string | undefined,
  ): Promise<VaultSession> {
    const login = this.#config.login;
    const id = JSON.stringify([
      address,
      caPem ?? '',
      login.kind === 'jwt' ? (role ?? login.role) : '',
    ]);
    const held = this.#sessions.get(id);
    if (held !== undefined) return held.session;
    const client = new VaultClient({ address, caPem, timeoutMs: this.#config.timeoutMs });
    const tokens =
      login.kind === 'jwt'
        ? new JwtLogin({
            client,
            mount: login.mount,
            role: role ?? login.role,
            tokenFile: login.jwtFile,
            logger: this.#log.child({ vault: address }),
          })
        : new StaticToken(await readTokenFile(login.tokenFile));
    const session = new VaultSession(client, tokens);
    this.#sessions.set(id, { session, tokens });
    return session;
  }

  #plans(r: ClusterKeysRequest): SignerKeyPlan[] {
    return clusterKeysPlan({
      namespace: r.namespace,
      cluster: r.cluster,
      shards: Array.from({ length: r.shards }, (_, shard) => ({
        shard,
        podName: r.shardPodName(shard),
        serviceAccount: r.shardServiceAccount,
      })),
      coordinator: { podName: undefined, serviceAccount: r.coordinatorServiceAccount },
      transitMount: r.transitMount,
      jwtMount: r.authMount,
      audience: r.audience,
      tokenTtlSeconds: this.#config.podTokenTtlSeconds,
      tokenMaxTtlSeconds: this.#config.podTokenMaxTtlSeconds,
    });
  }

  /**
   * Creates (or re-applies, every RECHECK_MS or when it changed) each signer's key, policy and
   * role, and rotates every key whose newest version is older than the rotation interval. Stops
   * at the first Vault failure and reports it with the keys known so far.
   */
  async provision(r: ClusterKeysRequest): Promise<ProvisionResult> {
    const plans = this.#plans(r);
    const rotated: ProvisionResult['rotated'] = [];
    const keys = (): SignerKeyState[] =>
      plans.flatMap((p) => {
        const info = this.#applied.get(`${p.keyPath}`)?.info;
        if (info === undefined) return [];
        return [
          p.component === 'coordinator'
            ? {
                role: 'coordinator' as const,
                origin: coordinatorOrigin(r.namespace, r.cluster),
                info,
              }
            : {
                role: 'shard' as const,
                shardId: p.component.shard,
                origin: shardOrigin(r.namespace, r.cluster, p.component.shard),
                info,
              },
        ];
      });
    try {
      const session = await this.#session(r.address, r.caPem, r.role);
      const nowMs = r.now.getTime();
      for (const plan of plans) {
        const id = plan.keyPath;
        const fingerprint = JSON.stringify([r.address, plan]);
        let applied = this.#applied.get(id);
        if (
          applied === undefined ||
          applied.fingerprint !== fingerprint ||
          nowMs - applied.atMs >= RECHECK_MS
        ) {
          const info = await applySignerKeyPlan(session, plan);
          if (applied === undefined)
            this.#log.info({ key: plan.name, key_version: info.latestVersion }, 'Vault key ready');
          applied = { fingerprint, atMs: nowMs, info };
          this.#applied.set(id, applied);
        }
        if (rotationDue(applied.info, r.rotationIntervalMs, r.now)) {
          const info = await rotateTransitKey(session, plan.keyPath, plan.name);
          this.#applied.set(id, { ...applied, info });
          rotated.push({ key: plan.name, version: info.latestVersion });
          this.#metrics?.keyRotations.inc();
          this.#log.info({ key: plan.name, key_version: info.latestVersion }, 'Vault key rotated');
        }
      }
      return { keys: keys(), rotated };
    } catch (err) {
      const error = failureOf(err);
      this.#metrics?.vaultErrors.inc({ code: error.code });
      this.#log.warn({ err: error.message, code: error.code }, 'Vault key provisioning failed');
      return { keys: keys(), rotated, error };
    }
  }

  /** Trims each key (transit key name -> lowest version kept); the caller published the rest. */
  async trim(
    r: ClusterKeysRequest,
    trims: ReadonlyMap<string, number>,
  ): Promise<{ trimmed: { key: string; minVersion: number }[]; error?: VaultFailure }> {
    const trimmed: { key: string; minVersion: number }[] = [];
    if (trims.size === 0) return { trimmed };
    try {
      const session = await this.#session(r.address, r.caPem, r.role);
      for (const [name, minVersion] of trims) {
        const keyPath = `${r.transitMount}/keys/${name}`;
        await trimTransitKeyTo(session, keyPath, minVersion);
        // Read again at the next provision: the versions Vault lists changed.
        const applied = this.#applied.get(keyPath);
        if (applied !== undefined) this.#applied.set(keyPath, { ...applied, atMs: 0 });
        trimmed.push({ key: name, minVersion });
        this.#metrics?.keyTrims.inc();
        this.#log.info({ key: name, min_version: minVersion }, 'Vault key trimmed');
      }
      return { trimmed };
    } catch (err) {
      const error = failureOf(err);
      this.#metrics?.vaultErrors.inc({ code: error.code });
      this.#log.warn({ err: error.message, code: error.code }, 'Vault key trim failed');
      return { trimmed, error };
    }
  }

  /** Stops token renewal and revokes the operator's tokens. */
  async close(): Promise<void> {
    const held = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(held.map((h) => h.tokens.close()));
  }
}

/** The failure of a cluster whose Vault address is set nowhere. */
export const VAULT_NOT_CONFIGURED: VaultFailure = {
  code: 'vault_not_configured',
  message:
    "no Vault address: set keys.vault.address in the AgDRCluster or the operator's --vault-addr",
};
