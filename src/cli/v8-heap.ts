// V8 heap settings the CLI's servers set at start-up, before they allocate much (`agdr submit`
// sets its own, for a client's memory, in submit.ts). V8 reads the flag whenever it decides
// whether to start a full collection, so setting it after the isolate started takes effect, and
// it is process-wide: worker threads started later follow it too. (V8 flags cannot be given
// through NODE_OPTIONS, and users run `agdr`, not `node <flags> agdr`.)
import v8 from 'node:v8';

/**
 * For the servers (`agdr shard`, `agdr coordinator`, `agdr local`): memory held by ArrayBuffers
 * counts towards the heap's global limit instead of starting full collections by itself. A
 * server's ArrayBuffers are mostly request bodies, socket reads and buffers handed between
 * threads, many MB a second that die young or go back to pools; with V8's older rule every
 * ~64 MB of them started a full collection of the whole heap, mostly marking work for nothing
 * (docs/PERFORMANCE.md, "Full collections and ArrayBuffer memory"). Later V8 versions made
 * this the default and then removed the flag; Node 24's V8 still has it off.
 */
export function countExternalMemoryInHeapLimit(): void {
  v8.setFlagsFromString('--external-memory-accounted-in-global-limit');
}
