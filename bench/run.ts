// `npm run bench [suite...] [--quick]`: runs benchmark suites and prints one JSON document.
// Without names it runs the throughput suites; the soak (`shard-crash`, 200 SIGKILL rounds), the
// 50M-record memory run (`shard-memory`, ~22 GB of disk) and the client's 2 GB memory run
// (`client-memory`) run only when named.
// Every suite reports its figures beside a baseline measured in the same run, as ratios, so
// results compare across machines and across runs on a busy machine.
import os from 'node:os';

export interface BenchOptions {
  /** A short run (seconds, not minutes): what CI-like smoke runs use. */
  quick: boolean;
}

export type BenchSuite = (opts: BenchOptions) => Promise<Record<string, unknown>>;

const suites: Record<string, () => Promise<{ run: BenchSuite }>> = {
  client: () => import('./client.ts'),
  'client-memory': () => import('./client-memory.ts'),
  coordinator: () => import('./coordinator.ts'),
  core: () => import('./core.ts'),
  records: () => import('./records.ts'),
  'shard-memory': () => import('./shard-memory.ts'),
  'shard-crash': () => import('./shard-crash.ts'),
  'shard-slow-body': () => import('./shard-slow-body.ts'),
  shard: () => import('./shard.ts'),
};

const defaultSuites = ['core', 'records', 'shard', 'coordinator', 'client'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const wanted = args.filter((a) => !a.startsWith('--'));
  const names = wanted.length > 0 ? wanted : defaultSuites;
  const results: Record<string, unknown> = {};
  for (const name of names) {
    const load = suites[name];
    if (load === undefined) {
      throw new Error(`unknown bench suite '${name}' (known: ${Object.keys(suites).join(', ')})`);
    }
    const { run } = await load();
    process.stderr.write(`bench: ${name}...\n`);
    results[name] = await run({ quick });
  }
  const report = {
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    date: new Date().toISOString(),
    quick,
    suites: results,
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

await main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
