// One server process of the test cluster: spawned with its output in a log file, waited on with a
// bounded health check, stopped by PID. Every failure names the component and quotes its log tail.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export class HarnessError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'HarnessError';
    this.code = code;
  }
}

export interface ProcessSpec {
  /** Short component name used in errors and the log file name. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly logPath: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

const LOG_TAIL_LINES = 40;

export function logTail(logPath: string, lines = LOG_TAIL_LINES): string {
  let text: string;
  try {
    text = readFileSync(logPath, 'utf8');
  } catch (err) {
    return `(no log at ${logPath}: ${(err as Error).message})`;
  }
  return text.split('\n').slice(-lines).join('\n');
}

export class ManagedProcess {
  readonly spec: ProcessSpec;
  private child: ChildProcess | undefined;
  private exitInfo: string | undefined;

  constructor(spec: ProcessSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Why the process ended, or undefined while it runs. */
  get exited(): string | undefined {
    return this.exitInfo;
  }

  start(): void {
    if (this.child && this.exitInfo === undefined) {
      throw new HarnessError('ALREADY_RUNNING', `${this.spec.name} is already running`);
    }
    this.exitInfo = undefined;
    // Appending keeps the log of an earlier run of the same component (restart tests).
    const fd = openSync(this.spec.logPath, 'a');
    try {
      const child = spawn(this.spec.command, [...this.spec.args], {
        cwd: this.spec.cwd,
        env: { ...process.env, ...this.spec.env },
        stdio: ['ignore', fd, fd],
      });
      child.on('exit', (code, signal) => {
        this.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
      });
      child.on('error', (err) => {
        this.exitInfo = `failed to start: ${err.message}`;
      });
      this.child = child;
    } finally {
      closeSync(fd);
    }
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || this.exitInfo !== undefined) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }

  /** Synchronous last-resort kill for signal handlers. */
  killNow(): void {
    if (this.child && this.exitInfo === undefined) this.child.kill('SIGKILL');
  }

  error(code: string, message: string): HarnessError {
    return new HarnessError(
      code,
      `${this.spec.name}: ${message}\n--- last lines of ${this.spec.logPath} ---\n${logTail(this.spec.logPath)}`,
    );
  }

  /**
   * Polls `probe` until it returns true, failing fast if the process exits and with the log tail
   * after `timeoutMs`.
   */
  async waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    for (;;) {
      if (this.exitInfo !== undefined) {
        throw this.error('PROCESS_EXITED', `${this.exitInfo} while waiting for ${what}`);
      }
      try {
        if (await probe()) return;
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) {
        const detail = lastError ? ` (last probe error: ${lastError})` : '';
        throw this.error('TIMEOUT', `not ${what} after ${timeoutMs} ms${detail}`);
      }
      await sleep(250);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
