// Validation problems of a decision: every problem found, each with the JSON path of the field.
import { CodedError } from '../errors.ts';

export type DecisionProblemCode =
  | 'required'
  | 'type'
  | 'empty'
  | 'too_long'
  | 'pattern'
  | 'enum'
  | 'const'
  | 'unsupported_version'
  | 'timestamp'
  | 'not_json'
  | 'too_deep'
  | 'too_large'
  | 'invalid_utf8'
  | 'malformed_json'
  | 'bom'
  | 'duplicate_member'
  | 'inexact_number'
  | 'chain_too_long'
  | 'chain_sequence'
  | 'chain_time_order'
  | 'chain_halt_not_last'
  | 'chain_escalation_unresolved'
  | 'chain_escalation_reason_required'
  | 'chain_modification_required'
  | 'chain_foi_without_escalation'
  | 'chain_resolved'
  | 'chain_autonomous'
  | 'chain_terminal_node';

export interface DecisionProblem {
  /** JSON path of the offending field: `$.ppp_triplet.place`, `$.human_delta_chain.deltas[2].action`. */
  path: string;
  code: DecisionProblemCode;
  message: string;
}

/** A decision that failed validation; `problems` lists every problem found, in field order. */
export class DecisionValidationError extends CodedError<'invalid_decision'> {
  override name = 'DecisionValidationError';
  readonly problems: readonly DecisionProblem[];
  /** The path of the first problem (convenient for single-error APIs). */
  declare readonly path: string;
  constructor(problems: readonly DecisionProblem[]) {
    const first = problems[0];
    super(
      'invalid_decision',
      first === undefined
        ? 'invalid decision'
        : `invalid decision: ${first.path}: ${first.message}` +
            (problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''),
      first?.path ?? '$',
    );
    this.problems = problems;
  }
}

/** Collects problems; allocates nothing while the input is valid. */
export class ProblemList {
  items: DecisionProblem[] | null = null;
  add(path: string, code: DecisionProblemCode, message: string): void {
    (this.items ??= []).push({ path, code, message });
  }
  get ok(): boolean {
    return this.items === null;
  }
}
