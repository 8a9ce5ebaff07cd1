// The one line a long-running command prints when it cannot start or stops on an error.
import { CodedError, reasonOf } from '../../core/errors.ts';

/**
 * The typed code in front when there is one (unless the message already starts with the file
 * or field at fault, which says more to a person), no stack; a port in use says which flag to
 * change.
 */
export function failureMessage(err: unknown): string {
  if (err instanceof CodedError) {
    const named = err.path !== undefined && err.message.startsWith(`${err.path}: `);
    return named ? err.message : `${err.code}: ${err.message}`;
  }
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'EADDRINUSE')
    return `${e.address ?? ''}:${e.port ?? ''} is already in use (pick another --port)`;
  return reasonOf(err);
}
