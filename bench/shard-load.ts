// Load generator for `bench/shard.ts`, run as its own process so the shard and the client do
// not share an event loop. Usage:
//   node bench/shard-load.ts URL MODE CONCURRENCY SECONDS BATCH BYTES TAG [FORMAT]
// MODE is `batch` (NDJSON, BATCH decisions per request) or `single` (one per request). FORMAT is
// `canonical` (default: lines of BYTES canonical bytes, as `agdr submit` sends them; the shard's
// fast path) or `sdk` (the same upstream record as the upstream SDK's users send it, Python
// json.dumps defaults: ", " and ": " separators, members in the SDK's order, its routing key in
// ctx; not canonical on arrival, so every line takes the full parse-validate-serialize path).
// Every decision has a fresh record_id (TAG-<10-digit counter>), so nothing is deduplicated.
// Prints one JSON line, including the client's own CPU per decision (it shares the machine with
// the shard).
//
// The generator shares the machine with the shard, so it is kept cheap. Requests are cheap to
// make: one canonical line of BYTES bytes is built once, each client fills one Buffer with the
// request head and BATCH copies of the line and, before each request, writes fresh counter
// digits in place at a fixed offset per line. The buffer is rewritten only after its request was
// handed to the OS in full and answered, and replaced after a failed request. Responses are
// cheap to read: each client is one keep-alive connection (`http1-connection.ts`) that reads
// into one reused buffer and counts the body instead of keeping it.
import { canonicalBytes } from '../src/core/jcs.ts';
import { Http1Connection, requestHead } from './http1-connection.ts';
import { sdkLine } from '../test/fixtures/records.ts';
import { decision } from '../test/integration/shard/shard-process.ts';

const [url, mode, concurrencyArg, secondsArg, batchArg, bytesArg, tag, formatArg] =
  process.argv.slice(2);
const format = formatArg ?? 'canonical';
if (
  url === undefined ||
  (mode !== 'batch' && mode !== 'single') ||
  tag === undefined ||
  (format !== 'canonical' && format !== 'sdk')
) {
  throw new Error(
    'usage: shard-load.ts URL batch|single CONCURRENCY SECONDS BATCH BYTES TAG [canonical|sdk]',
  );
}
if (!/^[A-Za-z0-9._:-]+$/.test(tag)) throw new Error(`TAG must be a record_id prefix: ${tag}`);
const concurrency = Number(concurrencyArg);
const seconds = Number(secondsArg);
const batch = mode === 'batch' ? Number(batchArg) : 1;
const bytes = Number(bytesArg);
const target = new URL(mode === 'batch' ? '/v1/decisions:batch' : '/v1/decisions', url);

const ID_DIGITS = 10;
const ID_LIMIT = 10 ** ID_DIGITS;
const placeholder = `${tag}-${'0'.repeat(ID_DIGITS)}`;

/**
 * The canonical line of `decision(0, {tag, bytes})` with its record_id widened to the fixed-width
 * placeholder and the padding shortened to match, so the line stays exactly `bytes` long (in the
 * sdk format: the same record, its entity moved into ctx, as json.dumps writes it); and the
 * offset of the record_id's digits in it.
 */
function templateLine(): { line: Buffer; digitsAt: number } {
  const short = `${tag}-0`;
  const d = decision(0, { tag, bytes: bytes - (placeholder.length - short.length) });
  if (d.record_id !== short)
    throw new Error(`unexpected template record_id ${String(d.record_id)}`);
  d.record_id = placeholder;
  const canonical = canonicalBytes(d);
  if (canonical.length !== bytes) {
    throw new Error(`template decision is ${canonical.length} bytes, not ${bytes}`);
  }
  if (format === 'sdk') {
    (d.ctx as Record<string, unknown>).entity_id = d.entity_id;
    delete d.entity_id;
  }
  const text = format === 'sdk' ? Buffer.from(sdkLine(d)) : canonical;
  const line = Buffer.concat([text, Buffer.from('\n')]);
  const member =
    format === 'sdk' ? `"record_id": "${placeholder}"` : `"record_id":"${placeholder}"`;
  const at = line.indexOf(member);
  if (at < 0 || line.indexOf(member, at + 1) >= 0) throw new Error('record_id not found once');
  return { line, digitsAt: at + member.length - 1 - ID_DIGITS };
}

const { line, digitsAt } = templateLine();
const lineBytes = line.length;
let next = 0;

const head = requestHead(
  'POST',
  target,
  { 'Content-Type': mode === 'batch' ? 'application/x-ndjson' : 'application/json' },
  batch * lineBytes,
);

/** One request (head and body) with `batch` copies of the line as its body. */
function newRequest(): Buffer {
  const request = Buffer.allocUnsafe(head.length + batch * lineBytes);
  head.copy(request);
  return request.fill(line, head.length);
}

/** Writes the next `batch` counter values, zero-padded, over the record_id digits of the body. */
function stamp(request: Buffer): void {
  if (next + batch > ID_LIMIT) throw new Error('record_id counter exhausted');
  for (let i = 0; i < batch; i++) {
    let n = next++;
    const last = head.length + i * lineBytes + digitsAt + ID_DIGITS - 1;
    for (let k = 0; k < ID_DIGITS; k++) {
      request[last - k] = 48 + (n % 10);
      n = Math.floor(n / 10);
    }
  }
}

const latencies: number[] = [];
let ok = 0;
let errors = 0;
let firstError: string | undefined;
const cpu0 = process.cpuUsage();
const start = performance.now();
const stopAt = start + seconds * 1000;
async function client(): Promise<void> {
  let request = newRequest();
  let connection = new Http1Connection(target);
  while (performance.now() < stopAt) {
    stamp(request);
    const t0 = performance.now();
    try {
      const status = await connection.send(request);
      if (status === 200 || status === 201) ok++;
      else {
        errors++;
        firstError ??= `HTTP ${status}`;
      }
    } catch (err) {
      // The failed request may still reference the buffer: continue with a fresh one, and a
      // fresh connection.
      errors++;
      firstError ??= err instanceof Error ? err.message : String(err);
      connection.close();
      connection = new Http1Connection(target);
      request = newRequest();
    }
    latencies.push(performance.now() - t0);
  }
  connection.close();
}
await Promise.all(Array.from({ length: concurrency }, client));
const elapsed = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpu0);
latencies.sort((a, b) => a - b);
const pct = (p: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
const decisions = ok * batch;
process.stdout.write(
  JSON.stringify({
    mode,
    format,
    concurrency,
    batch,
    decision_bytes: lineBytes - 1,
    requests: ok + errors,
    decisions,
    decisions_per_s: Math.round(decisions / elapsed),
    requests_per_s: Math.round((ok + errors) / elapsed),
    p50_ms: Math.round(pct(0.5) * 1000) / 1000,
    p99_ms: Math.round(pct(0.99) * 1000) / 1000,
    error_rate: ok + errors === 0 ? 0 : errors / (ok + errors),
    ...(firstError !== undefined ? { first_error: firstError } : {}),
    client_cpu_us_per_decision:
      decisions === 0 ? null : Math.round(((cpu.user + cpu.system) / decisions) * 100) / 100,
    seconds: Math.round(elapsed * 100) / 100,
  }) + '\n',
);
