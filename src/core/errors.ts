// The base of every typed error in src/: a machine-readable `code` callers branch on (and
// metrics and logs label by), and for bad input the `path` of the field or flag at fault.

export class CodedError<C extends string = string> extends Error {
  override name = 'CodedError';
  readonly code: C;
  /** For bad input: where the problem is (a JSON path, a file path or a flag). */
  readonly path: string | undefined;
  constructor(code: C, message: string, path?: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.path = path;
  }
}

/** A short human-readable reason for any thrown value. */
export function reasonOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Bad input at a known place: `path` is always set, and the message starts with it. */
export class FieldError<C extends string = string> extends CodedError<C> {
  override name = 'FieldError';
  declare readonly path: string;
  constructor(code: C, path: string, message: string) {
    super(code, `${path}: ${message}`, path);
  }
}

/**
 * Runs `step`; an operating-system error it throws (a bare `ENOSPC: no space left on device,
 * write` names neither the file nor the step) is rethrown prefixed with `what`, keeping its
 * `code` and the original as `cause`. Typed errors pass through unchanged.
 */
export async function describingSystemErrors<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const sys = err as NodeJS.ErrnoException;
    if (!(err instanceof Error) || err instanceof CodedError || typeof sys.syscall !== 'string')
      throw err;
    throw new CodedError(sys.code ?? 'system_error', `${what}: ${err.message}`, undefined, {
      cause: err,
    });
  }
}
