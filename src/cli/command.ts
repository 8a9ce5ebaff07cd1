// How a subcommand of the `agdr` binary is defined: its flags, one pure function from the
// parsed flags to one typed config (unit-tested without running anything), and `run`, which
// does the work with that config. Every bad command line ends the same way: `agdr <command>:
// <message>`, a pointer to --help, exit code 2.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CodedError, reasonOf } from '../core/errors.ts';

/** A subcommand of the `agdr` binary. `run` returns the process exit code. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

/** A bad command line: reported with a pointer to the command's help, exit code 2. */
export class UsageError extends CodedError<'usage'> {
  override name = 'UsageError';
  constructor(message: string) {
    super('usage', message);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
>;
/** The parsed flag values of an option table (flags with a default are always present). */
export type Flags<O extends Options> = Parsed<O>['values'];

/** Parses flags strictly; unknown flags and missing values become a UsageError. */
export function parseFlags<O extends Options>(
  argv: string[],
  options: O,
  allowPositionals = false,
): { values: Flags<O>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals }) as Parsed<O>;
  } catch (err) {
    throw new UsageError(reasonOf(err));
  }
}

/** For a UsageError: prints it with a pointer to the command's help and returns 2. */
export function usageExit(command: string, err: unknown): number {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(
    `agdr ${command}: ${err.message}\nRun 'agdr ${command} --help' for the options.\n`,
  );
  return 2;
}

export interface CommandDefinition<O extends Options, C> {
  name: string;
  summary: string;
  help: string;
  options: O;
  /** Whether arguments other than flags are taken (else one is a usage error). */
  positionals?: boolean;
  /**
   * Flags -> the command's one typed config. Pure: reads no file and starts nothing (what
   * needs the file system is checked in `run`); throws UsageError on a bad value.
   */
  configure(flags: Flags<O>, positionals: string[]): C;
  /** Does the work; a UsageError thrown here (an unreadable input file) still exits 2. */
  run(config: C): Promise<number>;
}

/** A command built by defineCommand: `configure(argv)` is what `run` does before running. */
export interface DefinedCommand<C> extends Command {
  configure(argv: string[]): C;
}

export function defineCommand<const O extends Options, C>(
  def: CommandDefinition<O, C>,
): DefinedCommand<C> {
  const configure = (argv: string[]): C => {
    const { values, positionals } = parseFlags(argv, def.options, def.positionals ?? false);
    return def.configure(values, positionals);
  };
  return {
    name: def.name,
    summary: def.summary,
    help: def.help,
    configure,
    async run(argv) {
      try {
        return await def.run(configure(argv));
      } catch (err) {
        return usageExit(def.name, err);
      }
    },
  };
}
