// Vault for the test cluster: a real (non-dev) server with file storage under the work dir,
// initialized with one unseal key and unsealed by the harness, so it can be stopped and started
// again (a Vault outage in a test) and keep its keys, policies and auth configuration — a dev
// server would lose them all on restart. Loopback only, plain HTTP.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { HarnessError, type ManagedProcess } from './process.ts';

/** What the harness needs to launch a process it tracks (pid record, log file, marker env). */
export type Launch = (
  name: string,
  command: string,
  args: string[],
  extraEnv?: Record<string, string>,
) => ManagedProcess;

export interface VaultInit {
  readonly rootToken: string;
  readonly unsealKey: string;
}

async function vaultRequest(
  addr: string,
  method: 'GET' | 'PUT',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${addr}/v1/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export class VaultServer {
  readonly addr: string;
  private readonly process: ManagedProcess;
  private readonly timeoutMs: number;
  private init: VaultInit | undefined;

  private constructor(addr: string, process: ManagedProcess, timeoutMs: number) {
    this.addr = addr;
    this.process = process;
    this.timeoutMs = timeoutMs;
  }

  /** Writes the server config and launches `vault server`; `ready()` initializes and unseals. */
  static launch(opts: {
    readonly bin: string;
    readonly port: number;
    readonly workDir: string;
    readonly launch: Launch;
    readonly timeoutMs: number;
  }): VaultServer {
    const dir = join(opts.workDir, 'vault');
    mkdirSync(join(dir, 'data'), { recursive: true });
    const addr = `http://127.0.0.1:${opts.port}`;
    const config = join(dir, 'config.hcl');
    writeFileSync(
      config,
      [
        `storage "file" {`,
        `  path = "${join(dir, 'data')}"`,
        `}`,
        `listener "tcp" {`,
        `  address = "127.0.0.1:${opts.port}"`,
        `  tls_disable = true`,
        `}`,
        `api_addr = "${addr}"`,
        // No mlock in an unprivileged test process; the data is throwaway.
        `disable_mlock = true`,
        `ui = false`,
        '',
      ].join('\n'),
    );
    const process = opts.launch(
      'vault',
      opts.bin,
      ['server', `-config=${config}`, '-log-level=warn'],
      // Vault's CLI helpers would write ~/.vault-token; keep HOME inside the work dir.
      { HOME: dir, VAULT_ADDR: addr },
    );
    return new VaultServer(addr, process, opts.timeoutMs);
  }

  /** The root token (after `ready()`). */
  get rootToken(): string {
    if (this.init === undefined) throw new HarnessError('VAULT_NOT_READY', 'vault not initialized');
    return this.init.rootToken;
  }

  /** Waits until it listens, initializes it (first time), unseals it, waits until active. */
  async ready(): Promise<void> {
    let status = 0;
    await this.process.waitUntil(
      'listening',
      async () => {
        status = (await vaultRequest(this.addr, 'GET', 'sys/health')).status;
        return true;
      },
      this.timeoutMs,
    );
    if (this.init === undefined) {
      if (status !== 501) {
        throw this.process.error('VAULT_INIT', `expected an uninitialized Vault, health ${status}`);
      }
      const res = await vaultRequest(this.addr, 'PUT', 'sys/init', {
        secret_shares: 1,
        secret_threshold: 1,
      });
      const keys = res.json.keys_base64 as string[] | undefined;
      const root = res.json.root_token;
      if (res.status !== 200 || !keys?.[0] || typeof root !== 'string') {
        throw this.process.error('VAULT_INIT', `sys/init answered ${res.status}`);
      }
      this.init = { rootToken: root, unsealKey: keys[0] };
    }
    const unseal = await vaultRequest(this.addr, 'PUT', 'sys/unseal', { key: this.init.unsealKey });
    if (unseal.status !== 200 || unseal.json.sealed !== false) {
      throw this.process.error('VAULT_UNSEAL', `sys/unseal answered ${unseal.status}`);
    }
    await this.process.waitUntil(
      'unsealed and active',
      async () => (await vaultRequest(this.addr, 'GET', 'sys/health')).status === 200,
      this.timeoutMs,
    );
  }

  /** Stops the server (SIGTERM): clients get connection refused until `start()`. */
  async stop(): Promise<void> {
    await this.process.stop();
  }

  /** Starts it again on the same port and storage, unsealed; keys and auth config survive. */
  async start(): Promise<void> {
    this.process.start();
    await this.ready();
  }
}
