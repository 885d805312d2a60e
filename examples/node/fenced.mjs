// Fencing: why a lock alone is not enough, and how the token fixes it.
//
// A tiny storage service (HTTP, in this process) accepts a write only with a
// `tenure-fence: <lock>=<token>` header whose token is not below the highest it
// has seen (FenceValidator). Worker A takes the lock and writes, then stalls
// (think GC pause); an operator force-releases its grant, worker B gets the lock
// with a higher token and writes; A wakes up and writes again with its old
// fence: the storage refuses it, so B's data survives.
//
//   node fenced.mjs
import http from 'node:http';

import { Client, FENCE_HEADER, FenceValidator, TenureError } from 'tenure';

const endpoints = process.env.TENURE_ENDPOINTS ?? '127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102';
const name = process.env.TENURE_LOCK ?? `examples/fenced/${process.pid}`;

// --- the storage side -------------------------------------------------------
const validator = new FenceValidator();
let stored = null;
const storage = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (d) => { body += d; });
  req.on('end', () => {
    try {
      const fence = validator.checkHeader(String(req.headers[FENCE_HEADER] ?? ''));
      stored = { value: body, token: fence.token };
      res.writeHead(204).end();
    } catch (e) {
      // LockLostError for a stale token, InvalidArgumentError for a bad header.
      const status = e instanceof TenureError && e.code === 'LOCK_LOST' ? 409 : 400;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(e.message);
    }
  });
});
await new Promise((r) => storage.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${storage.address().port}/value`;

/** A write as a holder sends it: with the fence header. */
async function write(lock, value) {
  const res = await fetch(url, {
    method: 'PUT',
    headers: { [FENCE_HEADER]: lock.fence.headerValue() },
    body: value,
  });
  return { status: res.status, text: await res.text() };
}

// --- the holders ------------------------------------------------------------
const a = await Client.connect(endpoints, { label: 'worker-a' });
const b = await Client.connect(endpoints, { label: 'worker-b' });
const admin = Client.connectLazy(endpoints);
let ok = false;
try {
  const lockA = await a.lock(name, { timeout: 10_000 });
  console.log(`A holds ${name} with token ${lockA.fencingToken}: write -> ${(await write(lockA, 'from A')).status}`);

  // A stalls. B queues for the lock; the operator frees A's grant (compare-and-swap
  // on its owner id), which hands the lock to B at once with a higher token.
  const waitingB = b.lock(name, { timeout: 10_000 });
  while (!((await admin.describe(name))?.waiters.length)) await new Promise((r) => setTimeout(r, 20));
  await admin.forceRelease(name, lockA.ownerId, 'worker A stalled');
  const lockB = await waitingB;
  console.log(`B holds ${name} with token ${lockB.fencingToken}: write -> ${(await write(lockB, 'from B')).status}`);

  // A wakes up, unaware, and writes with its old fence.
  const stale = await write(lockA, 'late write from A');
  console.log(`A writes again with token ${lockA.fencingToken}: ${stale.status} ${stale.text}`);
  console.log(`A learns it lost the lock: ${await lockA.lost}`);
  console.log(`stored: ${JSON.stringify(stored.value)} (token ${stored.token})`);
  ok = stale.status === 409 && stored.value === 'from B';
  await lockB.release();
} finally {
  await a.close();
  await b.close();
  await admin.close();
  storage.close();
}
console.log(ok ? 'fenced done: the stale write was rejected' : 'fenced FAILED: the stale write got through');
process.exitCode = ok ? 0 : 1;
