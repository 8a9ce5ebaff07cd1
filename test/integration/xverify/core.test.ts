// Independent verification: the roots, proofs, proof plans and signed checkpoints that
// src/core makes are checked by xverify, a Go program built on transparency-dev/merkle,
// golang.org/x/mod/sumdb/note and transparency-dev/formats (tools/xverify). Every valid case
// must be accepted and every corrupted variant rejected, by Go and by our own verifiers alike.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../../src/core/bytes.ts';
import {
  coordinatorOrigin,
  formatCheckpoint,
  shardOrigin,
  signCheckpoint,
  type Checkpoint,
} from '../../../src/core/checkpoint.ts';
import { blake3 } from '../../../src/core/hash.ts';
import { CompactRange } from '../../../src/core/merkle/compact.ts';
import {
  consistencyPlan,
  inclusionPlan,
  proofFromNodes,
  type ProofPlan,
} from '../../../src/core/merkle/nodes.ts';
import { consistencyProof, inclusionProof, merkleRoot } from '../../../src/core/merkle/tree.ts';
import { verifierKeyString } from '../../../src/core/note.ts';
import { ed25519SignerFromSeed, type Signer } from '../../../src/core/signer.ts';
import { checkpointCases, consistencyCases, inclusionCases, projectAccepts } from './cases.ts';
import {
  disagreements,
  runXverify,
  xverifyBinary,
  type PlanCase,
  type XCase,
  type XRun,
} from './xverify.ts';

const LEAVES = 4200;
const SMALL_INCLUSION = 64; // every index of every size up to this
const SMALL_CONSISTENCY = 48; // every pair of sizes up to this

const hex = toHex;
const randomBelow = (n: number): number => randomBytes(4).readUInt32BE() % n;

// Distinct random entries of 4..68 bytes (the index first, so no two are equal).
const entries: Uint8Array[] = [];
for (let i = 0; i < LEAVES; i++) {
  const idx = new Uint8Array(4);
  new DataView(idx.buffer).setUint32(0, i);
  entries.push(concatBytes(idx, randomBytes(randomBelow(65))));
}
const leafHashes = entries.map((e) => blake3.hashLeaf(e));

// The compact range over all leaves, its root and frontier at every size, and every perfect
// subtree node it completes (what a log stores), keyed "level/index".
const nodes = new Map<string, Uint8Array>();
const rootAt: Uint8Array[] = [];
const frontierAt: Uint8Array[][] = [];
const range = new CompactRange(blake3);
rootAt.push(range.root());
frontierAt.push(range.frontier());
for (const leaf of leafHashes) {
  range.append(leaf, (level, index, hash) => nodes.set(`${level}/${index}`, hash));
  rootAt.push(range.root());
  frontierAt.push(range.frontier());
}

function fromStoredNodes(plan: ProofPlan): Uint8Array[] {
  const hashes = plan.nodes.map((n) => {
    const h = nodes.get(`${n.level}/${n.index}`);
    if (h === undefined) throw new Error(`node ${n.level}/${n.index} was never stored`);
    return h;
  });
  return proofFromNodes(blake3, plan, hashes);
}

const planCase = (id: string, plan: ProofPlan): Omit<PlanCase, 'kind'> => ({
  id,
  expect: true,
  nodes: plan.nodes.map((n) => ({ level: n.level, index: n.index })),
  ephemeral: plan.ephemeral === null ? null : { ...plan.ephemeral },
});

// Sizes: every small size; 2^k - 1, 2^k, 2^k + 1 up to 4097; a few random larger ones.
const bigSizes = new Set<number>();
for (let k = 6; k <= 12; k++) for (const d of [-1, 0, 1]) bigSizes.add(2 ** k + d);
for (let i = 0; i < 3; i++) bigSizes.add(SMALL_INCLUSION + 1 + randomBelow(LEAVES - 64));
const sortedBig = [...bigSizes].filter((s) => s > SMALL_INCLUSION).sort((a, b) => a - b);

function indicesFor(size: number): number[] {
  let k = 1;
  while (k * 2 < size) k *= 2;
  const picks = [0, 1, size >> 1, size - 2, size - 1, k - 1, k, randomBelow(size)];
  return [...new Set(picks.filter((i) => i >= 0 && i < size))];
}

function inclusion(index: number, size: number): XCase[] {
  const id = `incl/${index}/${size}`;
  const plan = inclusionPlan(index, size);
  const common = {
    index,
    size,
    leaf_hash: hex(leafHashes[index] as Uint8Array),
    entry: hex(entries[index] as Uint8Array),
    root: hex(rootAt[size] as Uint8Array),
  };
  return [
    // RFC reference proofs with their corrupted variants ...
    ...inclusionCases({
      ...common,
      id: `${id}/tree`,
      proof: inclusionProof(blake3, leafHashes, index, size).map(hex),
    }),
    // ... proofs from stored nodes, the way a log serves them ...
    {
      ...common,
      kind: 'inclusion',
      expect: true,
      id: `${id}/nodes`,
      proof: fromStoredNodes(plan).map(hex),
    },
    // ... and the plan of stored nodes, against the library's.
    { ...planCase(`${id}/plan`, plan), kind: 'inclusion_plan', index, size },
  ];
}

function consistency(size1: number, size2: number): XCase[] {
  const id = `cons/${size1}/${size2}`;
  const plan = consistencyPlan(size1, size2);
  const common = {
    size1,
    size2,
    root1: hex(rootAt[size1] as Uint8Array),
    root2: hex(rootAt[size2] as Uint8Array),
  };
  return [
    ...consistencyCases({
      ...common,
      id: `${id}/tree`,
      proof: consistencyProof(blake3, leafHashes, size1, size2).map(hex),
    }),
    {
      ...common,
      kind: 'consistency',
      expect: true,
      id: `${id}/nodes`,
      proof: fromStoredNodes(plan).map(hex),
    },
    { ...planCase(`${id}/plan`, plan), kind: 'consistency_plan', size1, size2 },
  ];
}

function proofCases(): XCase[] {
  const out: XCase[] = [];
  for (let size = 1; size <= SMALL_INCLUSION; size++) {
    for (let index = 0; index < size; index++) out.push(...inclusion(index, size));
  }
  for (const size of sortedBig)
    for (const index of indicesFor(size)) out.push(...inclusion(index, size));
  for (let n = 1; n <= SMALL_CONSISTENCY; n++) {
    for (let m = 1; m <= n; m++) out.push(...consistency(m, n));
  }
  const from = [1, 2, 3, 5, 7, 8, 9, ...sortedBig];
  for (const n of sortedBig) {
    const ms = new Set([...from.filter((m) => m <= n), 1 + randomBelow(n)]);
    for (const m of ms) out.push(...consistency(m, n));
  }
  return out;
}

function rootCases(): XCase[] {
  const all = entries.map(hex);
  const sizes = [...Array.from({ length: SMALL_INCLUSION + 1 }, (_, i) => i), ...sortedBig];
  const compactRoots = rootAt.map((r, size) => ({
    size,
    root: hex(r),
    frontier: (frontierAt[size] as Uint8Array[]).map(hex),
  }));
  const flipAt = 1 + randomBelow(LEAVES);
  const flipped = [...compactRoots];
  flipped[flipAt] = { ...compactRoots[flipAt]!, root: flipHexStr(compactRoots[flipAt]!.root) };
  const frontierFlip = [...compactRoots];
  const f = frontierFlip[flipAt]!;
  frontierFlip[flipAt] = { ...f, frontier: [flipHexStr(f.frontier[0]!), ...f.frontier.slice(1)] };
  const alteredEntries = [...all];
  alteredEntries[flipAt - 1] = hex(randomBytes(8));
  return [
    // The compact range's root and frontier at every size 0..LEAVES.
    { kind: 'roots', id: 'roots/compact', expect: true, entries: all, roots: compactRoots },
    // The recursive RFC definition at selected sizes.
    {
      kind: 'roots',
      id: 'roots/tree',
      expect: true,
      entries: all,
      roots: sizes.map((size) => ({
        size,
        root: hex(merkleRoot(blake3, leafHashes.slice(0, size))),
      })),
    },
    { kind: 'roots', id: `roots/flip-root-${flipAt}`, expect: false, entries: all, roots: flipped },
    {
      kind: 'roots',
      id: `roots/flip-frontier-${flipAt}`,
      expect: false,
      entries: all,
      roots: frontierFlip,
    },
    {
      kind: 'roots',
      id: `roots/altered-entry-${flipAt - 1}`,
      expect: false,
      entries: alteredEntries,
      roots: compactRoots.slice(flipAt),
    },
  ];
}

function flipHexStr(h: string): string {
  const b = fromHex(h);
  b[0] = (b[0] as number) ^ 1;
  return hex(b);
}

const signer = (name: string): { signer: Signer; seed: Uint8Array } => {
  const seed = randomBytes(32);
  return { signer: ed25519SignerFromSeed(name, seed), seed };
};
const vkey = (s: Signer): string => verifierKeyString(s.name, s.publicKey);

async function checkpointCasesAll(): Promise<XCase[]> {
  const origin = shardOrigin('xverify', 'test', 7);
  const log = signer(origin);
  const impostor = signer(origin); // same name, another key
  const witness = signer('witness.example/w1');
  const coordinator = signer(coordinatorOrigin('xverify', 'test'));
  const now = BigInt(Date.now()) * 1_000_000n;
  const out: XCase[] = [];

  const signed = async (
    id: string,
    cp: Checkpoint,
    key: { signer: Signer; seed: Uint8Array },
    extensions: string,
  ): Promise<void> => {
    const note = await signCheckpoint(cp, key.signer);
    const valid = {
      id: `cp/${id}`,
      note,
      verifier_keys: [vkey(key.signer)],
      origin: cp.origin,
      size: cp.size,
      root: hex(cp.rootHash),
      extensions,
    };
    // The wrong key has the right name (the key ID differs).
    const other = signer(key.signer.name);
    out.push(...checkpointCases(valid, vkey(other.signer)));
    // Go signs the same text with the same key: the note must be byte-identical.
    const sign = {
      kind: 'sign' as const,
      text: formatCheckpoint(cp),
      name: key.signer.name,
      seed: hex(key.seed),
      note,
      verifier_key: vkey(key.signer),
    };
    out.push({ ...sign, id: `sign/${id}`, expect: true });
    out.push({ ...sign, id: `sign/${id}/other-seed`, expect: false, seed: hex(other.seed) });
  };

  await signed(
    'full',
    { origin, size: LEAVES, rootHash: rootAt[LEAVES]!, timestampNs: now, routingEpoch: 3 },
    log,
    `timestamp_ns ${now}\nrouting_epoch 3\n`,
  );
  await signed('empty', { origin, size: 0, rootHash: rootAt[0]! }, log, '');
  await signed(
    'one-ext',
    {
      origin,
      size: 1,
      rootHash: rootAt[1]!,
      timestampNs: now,
      extensions: ['x-note an opaque line'],
    },
    log,
    `timestamp_ns ${now}\nx-note an opaque line\n`,
  );
  await signed(
    'coordinator',
    { origin: coordinator.signer.name, size: 4096, rootHash: rootAt[4096]!, routingEpoch: 0 },
    coordinator,
    'routing_epoch 0\n',
  );
  // The worked example of the checkpoint spec (private key 00 01 .. 1f).
  const example = Uint8Array.from({ length: 32 }, (_, i) => i);
  const exampleName = 'agdr.dev/example/demo/shard-0';
  await signed(
    'spec-example',
    {
      origin: exampleName,
      size: 8,
      rootHash: fromHex('eed80dc82a14685b1a6607764e4c253418c4279033e89c0c6ddd7fd1717bede7'),
      timestampNs: 1764201600000000000n,
      routingEpoch: 1,
    },
    { signer: ed25519SignerFromSeed(exampleName, example), seed: example },
    'timestamp_ns 1764201600000000000\nrouting_epoch 1\n',
  );

  // Cosigned: the log's signature first, a witness's after it.
  const cp: Checkpoint = { origin, size: 4097, rootHash: rootAt[4097]!, timestampNs: now };
  const cosigned = await signCheckpoint(cp, log.signer, witness.signer);
  const base = {
    kind: 'checkpoint' as const,
    note: cosigned,
    origin,
    size: 4097,
    root: hex(cp.rootHash),
  };
  const keys = [vkey(log.signer), vkey(witness.signer)];
  out.push(
    { ...base, id: 'cp/cosigned/log-key', expect: true, verifier_keys: [keys[0]!] },
    { ...base, id: 'cp/cosigned/both-keys', expect: true, verifier_keys: keys },
    // Only the witness signed: the log's own signature is required.
    {
      ...base,
      id: 'cp/cosigned/witness-only',
      expect: false,
      verifier_keys: keys,
      note: cosigned.replace(/^— agdr\.dev\/.*\n/m, ''),
    },
    // The witness's signature verifies, but the log key given is another key of its name.
    {
      ...base,
      id: 'cp/cosigned/impostor-log-key',
      expect: false,
      verifier_keys: [vkey(impostor.signer), keys[1]!],
    },
  );
  return out;
}

let cases: XCase[];
let run: XRun;

beforeAll(async () => {
  // Builds on the first run only (cached in ~/.cache/agdr-test-bin); fails loudly without Go.
  const bin = xverifyBinary();
  cases = [...proofCases(), ...rootCases(), ...(await checkpointCasesAll())];
  const ids = new Set(cases.map((c) => c.id));
  if (ids.size !== cases.length) throw new Error('case ids are not unique');
  run = await runXverify(bin, cases);
}, 600_000);

const ofKind = (kinds: string[]): XCase[] => cases.filter((c) => kinds.includes(c.kind));

describe('xverify (transparency-dev/merkle, x/mod/sumdb/note, formats/log) agrees with src/core', () => {
  it('answers every case, and its exit code says all were as expected', () => {
    expect(run.results.size).toBe(cases.length);
    expect(disagreements(cases, run)).toEqual([]);
    expect(run.exitCode, run.stderr).toBe(0);
  });

  it.each([
    ['inclusion proofs', ['inclusion']],
    ['consistency proofs', ['consistency']],
    ['proof node plans', ['inclusion_plan', 'consistency_plan']],
    ['roots and compact ranges', ['roots']],
    ['signed checkpoints', ['checkpoint']],
    ['signed notes byte for byte', ['sign']],
  ])('%s: every valid case accepted, every corrupted one rejected', (_what, kinds) => {
    const mine = ofKind(kinds);
    expect(mine.some((c) => c.expect)).toBe(true);
    if (!kinds.includes('inclusion_plan')) expect(mine.some((c) => !c.expect)).toBe(true);
    expect(disagreements(mine, run)).toEqual([]);
  });

  it('our own verifiers give the same verdict as Go on every proof and checkpoint case', () => {
    const differ = cases
      .filter((c) => ['inclusion', 'consistency', 'checkpoint'].includes(c.kind))
      .filter((c) => projectAccepts(c) !== c.expect)
      .map((c) => c.id);
    expect(differ).toEqual([]);
  });

  it('covers the edge sizes 1, 2, 3 and 2^k - 1, 2^k, 2^k + 1 up to 4097', () => {
    const sizes = new Set(ofKind(['inclusion']).map((c) => (c as { size: number }).size));
    for (const s of [1, 2, 3, 4, 5, 63, 64, 65, 4095, 4096, 4097]) expect(sizes.has(s)).toBe(true);
  });
});
