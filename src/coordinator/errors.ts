// Typed errors of the coordinator. Callers branch on `code`.
import { CodedError } from '../core/errors.ts';

export type CoordinatorErrorCode =
  'bad_config' | 'bad_trust_bundle' | 'bad_routing' | 'global_log_failed' | 'stopped';

export class CoordinatorError extends CodedError<CoordinatorErrorCode> {
  override name = 'CoordinatorError';
}
