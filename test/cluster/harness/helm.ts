// The built helm, with its cache, config and data directories kept out of the user's home, and
// the product's chart rendered into parsed objects.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseAllDocuments } from 'yaml';

import { runTool } from './kubectl.ts';
import type { CommandResult } from './kubectl.ts';

/** charts/agdr-operator in this checkout. */
export const CHART_DIR = fileURLToPath(new URL('../../../charts/agdr-operator', import.meta.url));

/** A rendered Kubernetes object (the fields tests read). */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export class Helm {
  readonly binary: string;
  readonly #home: string;
  readonly #kubeconfig: string | undefined;

  constructor(binary: string, kubeconfig?: string) {
    this.binary = binary;
    this.#kubeconfig = kubeconfig;
    this.#home = mkdtempSync(join(tmpdir(), 'agdr-helm-'));
  }

  /** Runs helm (with --kubeconfig when one was given). */
  run(args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
    return runTool(
      this.binary,
      [...args, ...(this.#kubeconfig !== undefined ? ['--kubeconfig', this.#kubeconfig] : [])],
      {
        timeoutMs,
        env: {
          HELM_CACHE_HOME: join(this.#home, 'cache'),
          HELM_CONFIG_HOME: join(this.#home, 'config'),
          HELM_DATA_HOME: join(this.#home, 'data'),
        },
      },
    );
  }

  /** `helm template` of `chart` with `--set`-style values; the rendered objects. */
  async template(
    chart: string,
    options: {
      release?: string;
      namespace?: string;
      set?: readonly string[];
      values?: string;
    } = {},
  ): Promise<RenderedObject[]> {
    const { stdout } = await this.run([
      'template',
      options.release ?? 'demo',
      chart,
      '--namespace',
      options.namespace ?? 'agdr-system',
      ...(options.set ?? []).flatMap((s) => ['--set', s]),
      ...(options.values !== undefined ? ['--values', options.values] : []),
    ]);
    return parseRendered(stdout);
  }

  close(): void {
    rmSync(this.#home, { recursive: true, force: true });
  }
}

export function parseRendered(text: string): RenderedObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as RenderedObject | null)
    .filter((o): o is RenderedObject => o !== null);
}
