#!/usr/bin/env node
// The one `agdr` binary. Each subcommand lives in its own module exporting a `command`.
import type { Command } from './command.ts';

// Lazy imports keep `agdr --help` fast and each command's dependencies out of the others.
const commands: Record<string, () => Promise<{ command: Command }>> = {
  coordinator: () => import('./coordinator.ts'),
  local: () => import('./local.ts'),
  operator: () => import('./operator.ts'),
  prove: () => import('./prove.ts'),
  shard: () => import('./shard.ts'),
  submit: () => import('./submit.ts'),
  verify: () => import('./verify.ts'),
};

function usage(): string {
  return `agdr — AgDR (Agent Decision Record) sharded evidentiary log

Usage: agdr <command> [options]

Commands:
  local        run N shards and a coordinator on 127.0.0.1 (the embedded default)
  shard        run one shard: durable Merkle log of decisions with an HTTP API
  coordinator  run the Root Merkle Coordinator (signed Global Merkle Roots)
  operator     reconcile AgDRCluster resources (the Kubernetes operator)
  submit       send decisions (NDJSON file or stdin) to the right shards
  prove        write an evidence bundle for one record
  verify       check an evidence bundle offline, or a whole shard data directory

Run 'agdr <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    process.stdout.write('agdr 0.1.0\n');
    return 0;
  }
  const load = commands[name];
  if (load === undefined) {
    process.stderr.write(`agdr: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  const { command } = await load();
  // Every command's -h/--help, before its own (strict) flag parsing.
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`agdr: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
