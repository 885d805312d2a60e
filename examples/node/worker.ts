// The worker of worker.mjs, in TypeScript with `await using`: the lock is
// released and the client closed when the scope ends, even on an exception.
//
// Node 20 cannot parse `await using`; tsc (5.2+) compiles it to code that
// calls Symbol.asyncDispose, which Node 20 defines:
//
//   npx tsc -p tsconfig.json && node dist/worker.js
import { Client, CancelledError, LockLostError, type Lock } from 'tenure';

const endpoints = process.env.TENURE_ENDPOINTS ?? '127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102';
const jobs = Number(process.env.WORKER_JOBS ?? 3);
const shutdown = new AbortController();
process.once('SIGINT', () => shutdown.abort(new Error('SIGINT')));

async function work(job: number, lock: Lock, signal: AbortSignal): Promise<string> {
  for (let step = 0; step < 3; step++) {
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 20));
  }
  return `job ${job} done under ${lock.fence.headerValue()} (token ${lock.fencingToken})`;
}

async function runJob(client: Client, job: number): Promise<boolean> {
  let acquired: Lock;
  try {
    acquired = await client.lock('examples/worker-ts', { timeout: 30_000, signal: shutdown.signal });
  } catch (e) {
    if (e instanceof CancelledError) return false;
    throw e;
  }
  await using lock = acquired; // released when this function returns or throws
  const token: bigint = lock.fencingToken;
  try {
    console.log(await lock.run((l, signal) => work(job, l, signal)));
  } catch (e) {
    if (!(e instanceof LockLostError)) throw e;
    console.error(`job ${job} (token ${token}) abandoned: ${e.message}`);
  }
  return true;
}

async function main(): Promise<void> {
  await using client = await Client.connect(endpoints, { label: `worker-ts-${process.pid}` });
  for (let job = 1; job <= jobs && !shutdown.signal.aborted; job++) {
    if (!(await runJob(client, job))) break;
  }
  const held = await client.listLocks('examples/worker-ts');
  console.log(`locks still held: ${held.length}`);
}

await main();
console.log('worker-ts done');
