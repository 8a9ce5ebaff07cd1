// human_delta_chain (upstream `human_delta_chain_schema` and docs/human-delta-chain-spec.md):
// the shape of the chain, its deltas and the FOI review, then the invariants between them that
// protect the evidence (order, terminal nodes, agreement of the chain's own summary members).
import {
  checkBoolean,
  checkInteger,
  checkObject,
  checkString,
  checkTimestamp,
  describe,
  present,
} from './fields.ts';
import type { DecisionLimits } from './limits.ts';
import type { ProblemList } from './problems.ts';
import { compareU64Text } from './timestamp.ts';
import {
  ACTION_APPROVED_WITH_MODIFICATION,
  ACTION_ESCALATED,
  ACTION_HALTED,
  ACTION_LABELS,
  TERMINAL_NODES,
} from './types.ts';

const ACTIONS: readonly unknown[] = [-1, 0, 1, 2];

/** What the invariants need of one delta, once its shape is known. */
interface DeltaFacts {
  action: number | undefined;
  time: string | undefined;
}

export function checkChain(
  problems: ProblemList,
  path: string,
  value: unknown,
  limits: DecisionLimits,
): void {
  if (!checkObject(problems, path, value)) return;
  const c = value;
  checkString(problems, `${path}.chain_id`, c.chain_id, true);
  checkString(problems, `${path}.agent_decision_ref`, c.agent_decision_ref, true);
  checkInteger(problems, `${path}.initiated_at_ns`, c.initiated_at_ns, false);
  const resolvedOk = checkBoolean(problems, `${path}.resolved`, c.resolved, false);
  const terminal = c.terminal_node;
  if (terminal !== undefined && !(TERMINAL_NODES as readonly unknown[]).includes(terminal)) {
    problems.add(`${path}.terminal_node`, 'enum', `must be one of ${TERMINAL_NODES.join(', ')}`);
  }
  const autonomousOk = checkBoolean(problems, `${path}.autonomous`, c.autonomous, false);
  checkString(problems, `${path}.autonomous_authority_ref`, c.autonomous_authority_ref, false);
  checkString(problems, `${path}.merkle_root`, c.merkle_root, false);
  checkString(problems, `${path}.chain_signature`, c.chain_signature, false);

  const foiPath = `${path}.foi_escalation`;
  const foi =
    c.foi_escalation === undefined || c.foi_escalation === null ? undefined : c.foi_escalation;
  const foiTime = foi === undefined ? undefined : checkFoi(problems, foiPath, foi);

  const deltasPath = `${path}.deltas`;
  const deltas = c.deltas;
  if (!present(problems, deltasPath, deltas)) return;
  if (!Array.isArray(deltas)) {
    problems.add(
      deltasPath,
      'type',
      `must be an array (empty when autonomous), got ${describe(deltas)}`,
    );
    return;
  }
  if (deltas.length > limits.maxChainLength) {
    problems.add(
      deltasPath,
      'chain_too_long',
      `must have at most ${limits.maxChainLength} deltas, got ${deltas.length}`,
    );
    return;
  }
  const facts: DeltaFacts[] = [];
  for (let i = 0; i < deltas.length; i++) {
    facts.push(checkDelta(problems, `${deltasPath}[${i}]`, deltas[i], i));
  }

  // Order: timestamps never go back, the FOI review comes last.
  let prevTime: string | undefined;
  for (let i = 0; i < facts.length; i++) {
    const t = (facts[i] as DeltaFacts).time;
    if (t === undefined) continue;
    if (prevTime !== undefined && compareU64Text(t, prevTime) < 0) {
      problems.add(
        `${deltasPath}[${i}].timestamp_ns`,
        'chain_time_order',
        `must not be earlier than the previous delta's timestamp_ns ${prevTime}`,
      );
    }
    prevTime = t;
  }
  if (foiTime !== undefined && prevTime !== undefined && compareU64Text(foiTime, prevTime) < 0) {
    problems.add(
      `${foiPath}.timestamp_ns`,
      'chain_time_order',
      `must not be earlier than the last delta's timestamp_ns ${prevTime}`,
    );
  }

  // Terminal nodes: a halt ends the chain; an escalation is followed by the next layer's delta
  // or by the FOI review, unless the chain says it is not resolved yet.
  const last = facts.length - 1;
  for (let i = 0; i < last; i++) {
    if ((facts[i] as DeltaFacts).action === ACTION_HALTED) {
      problems.add(
        `${deltasPath}[${i}].action`,
        'chain_halt_not_last',
        'a halt (-1) is terminal: no delta may follow it',
      );
    }
  }
  const lastAction = last >= 0 ? (facts[last] as DeltaFacts).action : undefined;
  if (
    foi !== undefined &&
    lastAction !== ACTION_ESCALATED &&
    (last < 0 || lastAction !== undefined)
  ) {
    problems.add(
      foiPath,
      'chain_foi_without_escalation',
      last < 0
        ? 'an FOI review needs an escalation to review; this chain has no deltas'
        : lastAction === ACTION_HALTED
          ? 'a halt (-1) is terminal: no FOI review may follow it'
          : 'the FOI review follows an escalation (0): the last delta must be one',
    );
  }
  const pending = lastAction === ACTION_ESCALATED && foi === undefined;
  if (resolvedOk) {
    if (pending && c.resolved === true) {
      problems.add(
        `${deltasPath}[${last}].action`,
        'chain_escalation_unresolved',
        'an escalation (0) must be followed by the next delta or the FOI review; a chain that ends in one has "resolved": false',
      );
    } else if (!pending && c.resolved === false && (last < 0 || lastAction !== undefined)) {
      problems.add(
        `${path}.resolved`,
        'chain_resolved',
        'is false, but the chain ends in a final node (only a chain ending in an escalation is unresolved)',
      );
    }
  } else if (pending && c.resolved === undefined) {
    problems.add(
      `${path}.resolved`,
      'chain_escalation_unresolved',
      'a chain that ends in an escalation (0) without the FOI review must say "resolved": false',
    );
  }

  // The chain's summary members agree with its nodes.
  if (autonomousOk && c.autonomous !== (deltas.length === 0)) {
    problems.add(
      `${path}.autonomous`,
      'chain_autonomous',
      deltas.length === 0
        ? 'is false, but the chain has no deltas (an empty chain is an autonomous decision)'
        : 'is true, but the chain has deltas (humans reviewed this decision)',
    );
  }
  if (typeof terminal === 'string' && (TERMINAL_NODES as readonly string[]).includes(terminal)) {
    const want = foi !== undefined ? 'foi' : deltas.length === 0 ? 'autonomous' : 'human_delta';
    if (terminal !== want) {
      problems.add(
        `${path}.terminal_node`,
        'chain_terminal_node',
        `is ${JSON.stringify(terminal)}, but the chain ends in ${want === 'foi' ? 'the FOI review' : want === 'autonomous' ? 'no delta (autonomous)' : 'a human delta'} ("${want}")`,
      );
    }
  }
}

function checkDelta(
  problems: ProblemList,
  path: string,
  value: unknown,
  index: number,
): DeltaFacts {
  const facts: DeltaFacts = { action: undefined, time: undefined };
  if (!checkObject(problems, path, value)) return facts;
  const d = value;
  checkString(problems, `${path}.delta_id`, d.delta_id, true);
  if (
    checkInteger(problems, `${path}.sequence`, d.sequence, true) &&
    Number(d.sequence) !== index
  ) {
    problems.add(
      `${path}.sequence`,
      'chain_sequence',
      `must be ${index}: deltas are numbered from 0 in order, without gaps`,
    );
  }
  if (checkObject(problems, `${path}.actor`, d.actor)) {
    const a = d.actor;
    checkString(problems, `${path}.actor.name`, a.name, true);
    checkString(problems, `${path}.actor.role`, a.role, true);
    checkString(problems, `${path}.actor.employee_id`, a.employee_id, false);
    checkString(problems, `${path}.actor.jurisdiction`, a.jurisdiction, false);
  }
  if (present(problems, `${path}.action`, d.action)) {
    if (ACTIONS.includes(d.action)) facts.action = d.action as number;
    else {
      problems.add(
        `${path}.action`,
        'enum',
        'must be -1 (halted), 0 (escalated), 1 (approved as is) or 2 (approved with modification)',
      );
    }
  }
  const label = d.action_label;
  if (label !== undefined && !(ACTION_LABELS as readonly unknown[]).includes(label)) {
    problems.add(`${path}.action_label`, 'enum', `must be one of ${ACTION_LABELS.join(', ')}`);
  }
  if (facts.action === ACTION_APPROVED_WITH_MODIFICATION && isEmpty(d.modification)) {
    problems.add(
      `${path}.modification`,
      'chain_modification_required',
      'an approval with modification (2) states what was modified',
    );
  }
  const reason = d.escalation_reason;
  const reasonTyped = checkString(problems, `${path}.escalation_reason`, reason, false);
  if (
    facts.action === ACTION_ESCALATED &&
    (reason === undefined || (reasonTyped && reason === ''))
  ) {
    problems.add(
      `${path}.escalation_reason`,
      'chain_escalation_reason_required',
      'an escalation (0) states why the decision was escalated',
    );
  }
  checkInteger(problems, `${path}.latency_ns`, d.latency_ns, false);
  checkBoolean(problems, `${path}.escalated`, d.escalated, false);
  facts.time = checkTimestamp(problems, `${path}.timestamp_ns`, d.timestamp_ns);
  checkString(problems, `${path}.signature`, d.signature, false);
  return facts;
}

/** The FOI review's shape; returns its timestamp_ns when valid. */
function checkFoi(problems: ProblemList, path: string, value: unknown): string | undefined {
  if (!checkObject(problems, path, value)) return undefined;
  const f = value;
  if (checkObject(problems, `${path}.actor`, f.actor)) {
    checkString(problems, `${path}.actor.name`, f.actor.name, true);
    checkString(problems, `${path}.actor.title`, f.actor.title, true);
    checkString(problems, `${path}.actor.jurisdiction`, f.actor.jurisdiction, false);
  }
  checkString(problems, `${path}.decision`, f.decision, true);
  if (present(problems, `${path}.decision_code`, f.decision_code)) {
    if (f.decision_code !== 0 && f.decision_code !== 1) {
      problems.add(`${path}.decision_code`, 'enum', 'must be 1 (approved) or 0 (halted)');
    }
  }
  checkString(problems, `${path}.rationale`, f.rationale, false);
  checkString(problems, `${path}.signature`, f.signature, false);
  return checkTimestamp(problems, `${path}.timestamp_ns`, f.timestamp_ns);
}

/** Absent, null, `{}`, `[]` or `""`: states nothing (the SDK refuses such a modification). */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}
