// Runs the built kubectl (or helm) against the harness cluster with a bounded time.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { HarnessError, sleep } from './process.ts';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

export async function runTool(
  command: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      {
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...options.env },
      },
      (err, stdout, stderr) => {
        if (err) {
          const why = err.killed ? `timed out after ${timeoutMs} ms` : err.message;
          reject(
            new HarnessError(
              'COMMAND_FAILED',
              `${command} ${args.join(' ')}: ${why}\nstderr: ${stderr}\nstdout: ${stdout}`,
            ),
          );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export class Kubectl {
  readonly binary: string;
  readonly kubeconfig: string;

  constructor(binary: string, kubeconfig: string) {
    this.binary = binary;
    this.kubeconfig = kubeconfig;
  }

  async run(args: readonly string[], input?: string, timeoutMs?: number): Promise<string> {
    const result = await runTool(this.binary, ['--kubeconfig', this.kubeconfig, ...args], {
      ...(input === undefined ? {} : { input }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    return result.stdout;
  }

  async apply(manifest: string): Promise<string> {
    return this.run(['apply', '-f', '-'], manifest);
  }

  async getJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.run(['get', ...args, '-o', 'json'])) as T;
  }

  /**
   * Creates a namespace with a random suffix and waits for its default ServiceAccount (made by
   * the controller-manager; Pods are refused until it exists). Returns the name.
   */
  async createNamespace(prefix: string, timeoutMs = 60_000): Promise<string> {
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    await this.run(['create', 'namespace', name]);
    await this.waitFor(
      `default ServiceAccount in ${name}`,
      async () => {
        const out = await this.run(['get', 'serviceaccounts', '-n', name, '-o', 'name']);
        return out.split('\n').includes('serviceaccount/default') ? null : 'missing';
      },
      timeoutMs,
    );
    return name;
  }

  /**
   * Polls `check` (which returns a description of what is still missing, or null when done)
   * until done or `timeoutMs`; the error quotes the last description.
   */
  async waitFor(
    what: string,
    check: () => Promise<string | null>,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: string;
    for (;;) {
      try {
        const missing = await check();
        if (missing === null) return;
        last = missing;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new HarnessError(
          'TIMEOUT',
          `${what}: not done after ${timeoutMs} ms; last state: ${last}`,
        );
      }
      await sleep(500);
    }
  }
}
