// The signer flags `agdr shard` and `agdr coordinator` share: a local key file (default) or a
// Vault/OpenBao transit key, logged in with the pod's projected ServiceAccount token (JWT auth)
// or, for development, a token read from a file. Parsed once into a SignerFlags value; opening
// it returns the Signer and what must be closed after the last signing.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Signer } from '../core/signer.ts';
import { KeyFileError, loadOrCreateFileSigner } from '../keys/file-signer.ts';
import { TransitError } from '../keys/transit.ts';
import { VaultClient, VaultRequestError, VaultSession } from '../keys/vault-client.ts';
import { KeyPlanError, transitKeyName, type KeyComponent } from '../keys/vault-plan.ts';
import { VaultTransitSigner } from '../keys/vault-signer.ts';
import { JwtLogin, StaticToken, VaultLoginError } from '../keys/vault-token.ts';
import { parseDuration, parseHttpUrl } from './client/duration.ts';
import { UsageError } from './command.ts';

export const DEFAULT_VAULT_JWT_FILE = '/var/run/secrets/agdr.dev/vault/token';

/** parseArgs options of the signer flags (spread into a command's own). */
export const SIGNER_FLAG_OPTIONS = {
  signer: { type: 'string', default: 'file' },
  'vault-addr': { type: 'string' },
  'vault-ca': { type: 'string' },
  'vault-transit-mount': { type: 'string', default: 'transit' },
  'vault-key': { type: 'string' },
  'vault-role': { type: 'string' },
  'vault-jwt': { type: 'string', default: DEFAULT_VAULT_JWT_FILE },
  'vault-jwt-mount': { type: 'string', default: 'jwt' },
  'vault-token': { type: 'string' },
  'vault-timeout': { type: 'string', default: '5s' },
  'vault-key-refresh': { type: 'string', default: '60s' },
  'vault-key-activation': { type: 'string', default: '0s' },
} as const;

/** The help text of the signer flags, indented like the commands' own option lists. */
export const SIGNER_FLAGS_HELP = `  --signer file|vault         where the signing key lives (default: file; see docs/KEYS.md)
  --vault-addr URL            Vault/OpenBao address (with --signer vault)
  --vault-ca FILE             PEM CA bundle for an https Vault (default: system CAs)
  --vault-transit-mount PATH  transit engine mount (default: transit)
  --vault-key NAME            transit key (default: agdr_NS_CLUSTER_shard-N or
                              agdr_NS_CLUSTER_coordinator, as the operator provisions it)
  --vault-role ROLE           log in with Vault JWT auth as ROLE, using --vault-jwt
  --vault-jwt FILE            projected ServiceAccount token (audience vault), re-read at
                              every login (default: ${DEFAULT_VAULT_JWT_FILE})
  --vault-jwt-mount PATH      JWT auth mount (default: jwt)
  --vault-token FILE          development: a file holding a Vault token (instead of a role)
  --vault-timeout DUR         per-request timeout (default: 5s)
  --vault-key-refresh DUR     re-read the key's versions this often (rotation; default: 60s)
  --vault-key-activation DUR  sign with a new key version only once it is this old, so
                              verifiers have its public key first (default: 0s, at once)
`;

/** The signer flags' values, plus the command's own `--key` (a key file, for --signer file). */
type Values = { [K in keyof typeof SIGNER_FLAG_OPTIONS]?: string } & { key?: string };

export type SignerFlags =
  | { readonly kind: 'file' }
  | {
      readonly kind: 'vault';
      readonly address: string;
      readonly caFile: string | undefined;
      readonly mount: string;
      readonly key: string | undefined;
      readonly login:
        | {
            readonly kind: 'jwt';
            readonly role: string;
            readonly jwtFile: string;
            readonly mount: string;
          }
        | { readonly kind: 'token'; readonly tokenFile: string };
      readonly timeoutMs: number;
      readonly refreshMs: number;
      readonly activationMs: number;
    };

/** Checks the signer flags; throws UsageError naming the flag. */
export function parseSignerFlags(v: Values): SignerFlags {
  const vaultOnly = (
    Object.keys(SIGNER_FLAG_OPTIONS) as (keyof typeof SIGNER_FLAG_OPTIONS)[]
  ).filter(
    (k) => k.startsWith('vault-') && v[k] !== undefined && !('default' in SIGNER_FLAG_OPTIONS[k]),
  );
  if (v.signer === undefined || v.signer === 'file') {
    if (vaultOnly.length > 0) throw new UsageError(`--${vaultOnly[0]} needs --signer vault`);
    return { kind: 'file' };
  }
  if (v.signer !== 'vault') throw new UsageError(`--signer: '${v.signer}' is not file or vault`);
  if (v.key !== undefined) throw new UsageError('--key is a key file: it needs --signer file');
  if (v['vault-addr'] === undefined)
    throw new UsageError('--vault-addr is required with --signer vault');
  const role = v['vault-role'];
  const token = v['vault-token'];
  if ((role === undefined) === (token === undefined)) {
    throw new UsageError('--signer vault needs exactly one of --vault-role and --vault-token');
  }
  const mount = trimSlashes(v['vault-transit-mount'] ?? 'transit', '--vault-transit-mount');
  return {
    kind: 'vault',
    address: parseHttpUrl(v['vault-addr'], '--vault-addr'),
    caFile: v['vault-ca'],
    mount,
    key: v['vault-key'],
    login:
      role !== undefined
        ? {
            kind: 'jwt',
            role,
            jwtFile: v['vault-jwt'] ?? DEFAULT_VAULT_JWT_FILE,
            mount: trimSlashes(v['vault-jwt-mount'] ?? 'jwt', '--vault-jwt-mount'),
          }
        : { kind: 'token', tokenFile: token as string },
    timeoutMs: parseDuration(v['vault-timeout'] ?? '5s', '--vault-timeout'),
    refreshMs: parseDuration(v['vault-key-refresh'] ?? '60s', '--vault-key-refresh'),
    activationMs: durationOrZero(v['vault-key-activation'] ?? '0s', '--vault-key-activation'),
  };
}

/** A duration flag where 0 (`0`, `0s`) means none. */
function durationOrZero(text: string, flag: string): number {
  return /^0+(ms|s|m|h)?$/.test(text.trim()) ? 0 : parseDuration(text, flag);
}

export function trimSlashes(text: string, flag: string): string {
  const t = text.replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(t)) {
    throw new UsageError(`${flag}: '${text}' is not a mount path`);
  }
  return t;
}

export interface OpenedSigner {
  readonly signer: Signer;
  /** Stops key refreshes and token renewal, revokes the token; after the last signing. */
  close(): Promise<void>;
}

export interface SignerTarget {
  /** Signed-note key name (the origin). */
  readonly name: string;
  readonly namespace: string;
  readonly cluster: string;
  readonly component: KeyComponent;
  /** Key file for --signer file. */
  readonly keyFile: string;
  readonly logger: Logger;
}

export async function openSigner(flags: SignerFlags, t: SignerTarget): Promise<OpenedSigner> {
  if (flags.kind === 'file') {
    // The key's directory is the key's: nobody else lists it, whatever the umask.
    mkdirSync(path.dirname(t.keyFile), { recursive: true, mode: 0o700 });
    const signer = await loadOrCreateFileSigner(t.keyFile, t.name);
    return { signer, close: () => Promise.resolve() };
  }
  const logger = t.logger.child({ vault: flags.address });
  const client = new VaultClient({
    address: flags.address,
    caPem: flags.caFile === undefined ? undefined : readFileSync(flags.caFile, 'utf8'),
    timeoutMs: flags.timeoutMs,
  });
  const tokens =
    flags.login.kind === 'jwt'
      ? new JwtLogin({
          client,
          mount: flags.login.mount,
          role: flags.login.role,
          tokenFile: flags.login.jwtFile,
          logger,
        })
      : new StaticToken(readFileSync(flags.login.tokenFile, 'utf8').trim());
  try {
    const signer = await VaultTransitSigner.open({
      session: new VaultSession(client, tokens),
      mount: flags.mount,
      key: flags.key ?? transitKeyName(t.namespace, t.cluster, t.component),
      name: t.name,
      refreshMs: flags.refreshMs,
      activationMs: flags.activationMs,
      logger,
      // Shards and the coordinator take up a new version only once their key history has
      // recorded the transition to it (keys/key-history-file.ts).
      holdVersion: true,
    });
    return {
      signer,
      close: async () => {
        signer.close();
        await tokens.close();
      },
    };
  } catch (err) {
    await tokens.close();
    throw err;
  }
}

/** True for the errors opening a signer fails with that deserve a one-line message, not a trace. */
export function signerStartError(err: unknown): boolean {
  return (
    err instanceof VaultRequestError ||
    err instanceof VaultLoginError ||
    err instanceof TransitError ||
    err instanceof KeyPlanError ||
    err instanceof KeyFileError ||
    (err as NodeJS.ErrnoException).code === 'ENOENT' ||
    (err as NodeJS.ErrnoException).code === 'EACCES'
  );
}
