// Quickstart: connect, take a lock, use its fencing token, release, close.
//
//   tenure dev &                      # a local 3-node cluster on 127.0.0.1:7100-7102
//   node quickstart.mjs               # or TENURE_ENDPOINTS=host:port,... node quickstart.mjs
import { Client, FENCE_HEADER, LockHeldError } from 'tenure';

const endpoints = process.env.TENURE_ENDPOINTS ?? '127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102';
const name = process.env.TENURE_LOCK ?? 'examples/quickstart';

const client = await Client.connect(endpoints, { label: 'quickstart' });
try {
  // Wait up to 10 s in the server's FIFO queue.
  const lock = await client.lock(name, { timeout: 10_000 });
  try {
    // The fencing token is a bigint: greater than every token granted before.
    console.log(`holding ${lock.name} with fencing token ${lock.fencingToken}`);
    console.log(`send with every write: ${FENCE_HEADER}: ${lock.fence.headerValue()}`);
    console.log(`held for at least another ${Math.round(lock.remaining())} ms without renewal`);

    // Anyone else trying at once gets LockHeldError (try-lock does not wait).
    const other = await Client.connect(endpoints, { label: 'quickstart-other' });
    try {
      await other.tryLock(name);
    } catch (e) {
      if (!(e instanceof LockHeldError)) throw e;
      console.log(`a second client cannot take it: ${e.code}`);
    } finally {
      await other.close();
    }
  } finally {
    await lock.release();
  }

  // withLock: acquire, run, release, even if the work throws.
  const token = await client.withLock(name, async (lock) => lock.fencingToken, { timeout: 10_000 });
  console.log(`withLock ran under token ${token}`);
} finally {
  await client.close();
}
console.log('quickstart done');
