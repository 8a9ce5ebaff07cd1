// Errors of the durable log. Callers act on `code`: `corrupt` means the stored data contradicts
// itself or a durable commitment (refuse to serve); `failed` means an earlier write or sync
// failed and the log must be reopened (recovery decides what is durable); `read_only` means a
// write was asked of a log opened read-only (a check); `not_found` means a read-only open found
// no log, or a log missing one of its files (it creates nothing); `wrong_log` means the
// directory holds another log than the one asked for (meta.json's identity); `outcome_unknown`
// rejects an append whose batch was being written when the log failed (it may be durable).

import { CodedError } from '../core/errors.ts';

export type LogStoreErrorCode =
  | 'corrupt'
  | 'failed'
  | 'closed'
  | 'out_of_range'
  | 'bad_argument'
  | 'incompatible'
  | 'locked'
  | 'read_only'
  | 'not_found'
  | 'wrong_log'
  | 'outcome_unknown';

export class LogStoreError extends CodedError<LogStoreErrorCode> {
  constructor(code: LogStoreErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, undefined, options);
    this.name = 'LogStoreError';
  }
}

/** Stored data that contradicts itself or a durable commitment: the log refuses to open. */
export class LogCorruptionError extends LogStoreError {
  /** The file in which the contradiction was found. */
  readonly file: string;
  constructor(file: string, message: string) {
    super('corrupt', `log corrupt: ${file}: ${message}`);
    this.name = 'LogCorruptionError';
    this.file = file;
  }
}
