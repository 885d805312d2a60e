// A worker that runs jobs one at a time under a lock, stops cleanly on SIGINT
// or SIGTERM, and stops a job when its lock is lost.
//
// Node 20 has no `await using` syntax: this file uses try/finally. See
// worker.ts for the same worker with `await using` (compiled by tsc).
//
//   node worker.mjs            # WORKER_JOBS=3 by default
import { Client, CancelledError, LockLostError } from 'tenure';

const endpoints = process.env.TENURE_ENDPOINTS ?? '127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102';
const jobs = Number(process.env.WORKER_JOBS ?? 3);
const shutdown = new AbortController();
process.once('SIGINT', () => shutdown.abort(new Error('SIGINT')));
process.once('SIGTERM', () => shutdown.abort(new Error('SIGTERM')));

/** One unit of work; checks `signal` so that a lost lock stops it. */
async function work(job, lock, signal) {
  for (let step = 0; step < 3; step++) {
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 20));
  }
  return `job ${job} done under ${lock.fence}`;
}

const client = await Client.connect(endpoints, { label: `worker-${process.pid}` });
try {
  for (let job = 1; job <= jobs && !shutdown.signal.aborted; job++) {
    let lock;
    try {
      // The signal withdraws a waiting acquire from the server's queue on shutdown.
      lock = await client.lock('examples/worker', { timeout: 30_000, signal: shutdown.signal });
    } catch (e) {
      if (e instanceof CancelledError) break;
      throw e;
    }
    try {
      lock.onLost((reason) => {
        if (reason !== 'released') console.error(`lost the lock during job ${job}: ${reason}`);
      });
      console.log(await lock.run((l, signal) => work(job, l, signal)));
    } catch (e) {
      if (!(e instanceof LockLostError)) throw e;
      console.error(`job ${job} abandoned: ${e.message}`);
    } finally {
      await lock.release();
    }
  }
} finally {
  await client.close();
}
console.log('worker done');
