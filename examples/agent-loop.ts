// An agent that records every decision it takes with AgDR, then produces court evidence for
// one of them. Run it against `agdr local`:  npx node examples/agent-loop.ts http://127.0.0.1:7070
// (in your own project, import from 'agdr-operator/client' instead of the source path).
import { fileURLToPath } from 'node:url';
import { AgdrClient, SubmitError, verify } from '../src/client/index.ts';
import type { Receipt } from '../src/client/index.ts';

/** The agent's work: here, one order per step, recorded as an AgDR v0.2 decision. */
function decide(step: number, runId: string): Record<string, unknown> {
  const now = BigInt(Date.now()) * 1_000_000n; // nanoseconds, a bigint: 19 digits
  const id = `${runId}-${step}`;
  return {
    record_id: id,
    spec_version: '0.2',
    ctx: { system: 'trading-desk-v3', session_id: runId, entity_id: `account-${step % 5}` },
    model_id: null,
    reasoning_trace: { steps: [{ n: 1, thought: 'Within mandate' }] },
    output: { order: { ticker: 'RY.TO', side: 'buy', shares: 100 + step } },
    ppp_triplet: {
      provenance: 'TSX equity desk, authorized trader J.Smith',
      place: 'Fill at market open, regulatory boundary: IIROC',
      purpose: 'Rebalance portfolio per mandate 2026-Q1',
    },
    human_delta_chain: {
      chain_id: `chain-${id}`,
      agent_decision_ref: id,
      initiated_at_ns: now,
      resolved: true,
      resolution: 'autonomous',
      terminal_node: 'autonomous',
      deltas: [],
      foi_escalation: null,
      autonomous: true,
    },
    timestamp_ns: now,
    committed: true,
  };
}

export async function runAgent(coordinator: string, steps: number, runId: string) {
  const agdr = new AgdrClient({ coordinator });
  const receipts: Promise<Receipt>[] = [];
  for (let step = 0; step < steps; step++) {
    const decision = decide(step, runId);
    // The agent does not wait: decisions of the same few milliseconds go in one batch, and
    // each promise resolves once its decision is durable in its shard's log.
    receipts.push(
      agdr.submit(decision).catch((err: unknown) => {
        if (err instanceof SubmitError) {
          // Typed: invalid_decision (err.path names the field), record_id_conflict, unavailable...
          console.error(`decision ${step} not recorded: ${err.code}: ${err.message}`);
        }
        throw err;
      }),
    );
    await new Promise((r) => setTimeout(r, 2)); // the agent's own work
  }
  const durable = await Promise.all(receipts);
  console.log(
    `${durable.length} decisions durable, e.g. shard ${durable[0]?.shard_id} seq ${durable[0]?.seq}`,
  );

  // Later, for the court: the evidence bundle of one decision, once a global root seals it
  // (at the coordinator's next interval), checked offline against the pinned keys.
  const first = durable[0] as Receipt;
  const bundle = await agdr.prove(first.record_id, { waitMs: 120_000 });
  const report = verify(bundle, await agdr.trustBundle());
  console.log(`bundle for ${first.record_id}: ${report.ok ? 'VERIFIED' : 'FAILED'}`);
  return { receipts: durable, bundle, report };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const coordinator = process.argv[2] ?? 'http://127.0.0.1:7070';
  await runAgent(coordinator, 20, `run-${Date.now()}`);
}
