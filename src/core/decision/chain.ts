// human_delta_chain: structure of each node and the invariants between nodes.
import { checkKnownMembers, checkObject, checkText, checkTimestamp, describe } from './fields.ts';
import type { DecisionLimits } from './limits.ts';
import type { ProblemList } from './problems.ts';
import { compareU64Text } from './timestamp.ts';
import { DELTA_KINDS, DELTA_NODE_MEMBERS, FOI_OUTCOMES, type DeltaKind } from './types.ts';

const NODE_MEMBERS: ReadonlySet<string> = new Set(DELTA_NODE_MEMBERS);

/** Kinds that may directly follow an escalation: the next layer's human decision. */
const RESOLVES_ESCALATION: ReadonlySet<DeltaKind> = new Set(['delta', 'halt', 'foi']);

export function checkChain(
  problems: ProblemList,
  path: string,
  value: unknown,
  limits: DecisionLimits,
): void {
  if (value === undefined) {
    problems.add(path, 'required', 'is required');
    return;
  }
  if (!Array.isArray(value)) {
    problems.add(path, 'type', `must be an array, got ${describe(value)}`);
    return;
  }
  if (value.length === 0) {
    problems.add(
      path,
      'chain_empty',
      'must have at least one node (a decision nobody reviewed needs an "autonomous" node naming its authority)',
    );
    return;
  }
  if (value.length > limits.maxChainLength) {
    problems.add(
      path,
      'chain_too_long',
      `must have at most ${limits.maxChainLength} nodes, got ${value.length}`,
    );
    return;
  }
  const kinds: (DeltaKind | undefined)[] = new Array<DeltaKind | undefined>(value.length);
  let prevSequence = -1;
  let prevTime: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const nodePath = `${path}[${i}]`;
    const node: unknown = value[i];
    if (!checkObject(problems, nodePath, node)) continue;
    checkKnownMembers(problems, nodePath, node, NODE_MEMBERS);

    const seq = node.sequence;
    if (seq === undefined) {
      problems.add(`${nodePath}.sequence`, 'required', 'is required');
    } else if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
      problems.add(`${nodePath}.sequence`, 'type', 'must be a non-negative integer');
    } else {
      if (seq <= prevSequence) {
        problems.add(
          `${nodePath}.sequence`,
          'chain_sequence',
          `must be greater than the previous node's sequence ${prevSequence}, got ${seq}`,
        );
      }
      prevSequence = seq;
    }

    const time = node.timestamp_ns;
    if (checkTimestamp(problems, `${nodePath}.timestamp_ns`, time)) {
      const t = time as string;
      if (prevTime !== undefined && compareU64Text(t, prevTime) < 0) {
        problems.add(
          `${nodePath}.timestamp_ns`,
          'chain_time_order',
          `must not be earlier than the previous node's timestamp_ns ${prevTime}`,
        );
      }
      prevTime = t;
    }

    const kind = node.kind;
    if (kind === undefined) {
      problems.add(`${nodePath}.kind`, 'required', 'is required');
    } else if (typeof kind !== 'string' || !(DELTA_KINDS as readonly string[]).includes(kind)) {
      problems.add(`${nodePath}.kind`, 'enum', `must be one of ${DELTA_KINDS.join(', ')}`);
    } else {
      kinds[i] = kind as DeltaKind;
      checkNodeByKind(problems, nodePath, node, kind as DeltaKind, limits);
    }
  }

  // Order invariants, on the nodes whose kind is known.
  const last = value.length - 1;
  for (let i = 0; i <= last; i++) {
    const kind = kinds[i];
    const kindPath = `${path}[${i}].kind`;
    if (kind === 'halt' && i !== last) {
      problems.add(kindPath, 'chain_halt_not_last', 'a halt is terminal: no node may follow it');
    } else if (kind === 'foi' && i !== last) {
      problems.add(kindPath, 'chain_foi_not_last', 'the FOI node must be the last node');
    } else if (kind === 'escalation') {
      const next = i < last ? kinds[i + 1] : undefined;
      if (i === last) {
        problems.add(
          kindPath,
          'chain_escalation_unresolved',
          'an escalation must be followed by a delta, a halt or the FOI node',
        );
      } else if (next !== undefined && !RESOLVES_ESCALATION.has(next)) {
        problems.add(
          kindPath,
          'chain_escalation_unresolved',
          `an escalation must be followed by a delta, a halt or the FOI node, not ${next}`,
        );
      }
    }
  }
}

function checkNodeByKind(
  problems: ProblemList,
  nodePath: string,
  node: Record<string, unknown>,
  kind: DeltaKind,
  limits: DecisionLimits,
): void {
  const text = limits.maxTextLength;
  if (node.actor === undefined) {
    if (kind !== 'autonomous') {
      problems.add(
        `${nodePath}.actor`,
        'chain_actor_required',
        `a ${kind} node names its human actor`,
      );
    }
  } else if (checkObject(problems, `${nodePath}.actor`, node.actor)) {
    checkText(problems, `${nodePath}.actor.name`, node.actor.name, text);
    checkText(problems, `${nodePath}.actor.role`, node.actor.role, text);
  }

  if (node.authority_ref === undefined) {
    if (kind === 'autonomous') {
      problems.add(
        `${nodePath}.authority_ref`,
        'chain_authority_required',
        'an autonomous node must reference the authority it acted under',
      );
    }
  } else {
    checkText(problems, `${nodePath}.authority_ref`, node.authority_ref, text);
  }

  const outcome = node.outcome;
  if (kind === 'foi') {
    if (outcome === undefined) {
      problems.add(`${nodePath}.outcome`, 'chain_outcome', 'the FOI node states its outcome');
    } else if (
      typeof outcome !== 'string' ||
      !(FOI_OUTCOMES as readonly string[]).includes(outcome)
    ) {
      problems.add(`${nodePath}.outcome`, 'enum', `must be one of ${FOI_OUTCOMES.join(', ')}`);
    } else if ((outcome === 'modified') !== (node.modification !== undefined)) {
      problems.add(
        `${nodePath}.modification`,
        'chain_outcome',
        'is required exactly when the FOI outcome is "modified"',
      );
    }
  } else if (outcome !== undefined) {
    problems.add(
      `${nodePath}.outcome`,
      'chain_field_not_allowed',
      'only the FOI node has an outcome',
    );
  }

  if (node.modification !== undefined) {
    if (kind !== 'delta' && kind !== 'foi') {
      problems.add(
        `${nodePath}.modification`,
        'chain_field_not_allowed',
        'only a delta or the FOI node modifies the decision',
      );
    } else {
      checkObject(problems, `${nodePath}.modification`, node.modification);
    }
  }
  if (node.note !== undefined) checkText(problems, `${nodePath}.note`, node.note, text);
  if (node.signature !== undefined) {
    checkText(problems, `${nodePath}.signature`, node.signature, text);
  }
  if (node.ext !== undefined) checkObject(problems, `${nodePath}.ext`, node.ext);
}
