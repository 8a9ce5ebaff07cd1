// Global log entries: a leaf is the canonical JSON of a signed record.
import { bytesEqual, utf8 } from '../bytes.ts';
import { canonicalBytes } from '../jcs.ts';
import { type GlobalLogRecord, GlobalRootError } from './types.ts';
import { checkGlobalLogRecord } from './checks.ts';

/** The global log leaf data of a signed record: its canonical JSON. */
export function globalLogEntryBytes(record: GlobalLogRecord): Uint8Array {
  return canonicalBytes(record);
}

/** Parses a global log entry strictly: canonical JSON of a well-formed record. */
export function parseGlobalLogEntry(bytes: Uint8Array): GlobalLogRecord {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    if (!(err instanceof TypeError) && !(err instanceof SyntaxError)) throw err;
    throw new GlobalRootError('invalid_record', '$', `not UTF-8 JSON: ${err.message}`);
  }
  const record = checkGlobalLogRecord(value);
  if (!bytesEqual(canonicalBytes(record), bytes)) {
    throw new GlobalRootError('invalid_record', '$', 'entry bytes are not canonical JSON');
  }
  return record;
}
