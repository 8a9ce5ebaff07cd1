// Worker thread: the record_id index's writer. Each message is one LMDB transaction (the ids of
// consecutive appends and the new watermark), committed synchronously here so that neither the
// encoding of every put nor the B-tree inserts nor the commit run on the thread that owns the log.
import { parentPort, workerData } from 'node:worker_threads';
import { startOf } from '../core/bytes.ts';
import {
  openIndexDb,
  WATERMARK,
  type IndexWorkerReply,
  type IndexWorkerRequest,
} from './record-index-db.ts';

if (parentPort === null) throw new Error('record-index-worker must run as a worker thread');
const port = parentPort;
const { root, db } = openIndexDb((workerData as { dir: string }).dir);
const reply = (msg: IndexWorkerReply): void => port.postMessage(msg);

port.on('message', (msg: IndexWorkerRequest) => {
  if (msg.type === 'close') {
    void root.close().then(() => {
      reply({ type: 'closed' });
      port.close();
    });
    return;
  }
  try {
    const { keys, ends, runs } = msg;
    root.transactionSync(() => {
      let i = 0;
      for (const [first, count] of runs) {
        for (let k = 0; k < count; k++, i++) {
          db.putSync(keys.subarray(startOf(ends, i), ends[i]), first + k);
        }
      }
      const last = runs[runs.length - 1];
      if (last !== undefined) db.putSync(WATERMARK, last[0] + last[1]);
    });
    reply({ id: msg.id });
  } catch (err) {
    reply({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
