// The one way a command reports a bad command line.
import { UsageError } from '../command.ts';

/**
 * For a UsageError: prints `agdr <command>: <message>` and a pointer to the command's help to
 * stderr and returns exit code 2. Anything else is rethrown.
 */
export function usageExit(command: string, err: unknown): number {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(
    `agdr ${command}: ${err.message}\nRun 'agdr ${command} --help' for the options.\n`,
  );
  return 2;
}
