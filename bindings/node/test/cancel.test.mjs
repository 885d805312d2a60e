// AbortSignal cancels a waiting acquire: the promise rejects with
// CancelledError and the server's queue no longer holds the waiter.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CancelledError, Client, InvalidArgumentError, TenureError } from 'tenure';
import { eventually, startCluster, uniqueName, within } from './cluster.mjs';

let cluster;
let holder;
let waiter;

before(async () => {
  cluster = await startCluster();
  holder = await Client.connect(cluster.endpoints);
  waiter = await Client.connect(cluster.endpoints);
});

after(async () => {
  await holder?.close().catch(() => {});
  await waiter?.close().catch(() => {});
  await cluster?.stop();
});

describe('AbortSignal', () => {
  it('aborting a waiting acquire rejects with CancelledError and withdraws it from the queue', async () => {
    const name = uniqueName('abort');
    const lock = await holder.tryLock(name);
    try {
      const controller = new AbortController();
      const waiting = waiter.lock(name, { timeout: 60_000, signal: controller.signal });
      const outcome = waiting.then(() => null, (e) => e);
      await eventually('the waiter to queue', async () => (await holder.describe(name))?.waiters.length === 1);
      const reason = new Error('shutting down');
      controller.abort(reason);
      const err = await within(5_000, outcome, 'the aborted acquire');
      assert.ok(err instanceof CancelledError, `rejected with ${err}`);
      assert.ok(err instanceof TenureError);
      assert.equal(err.code, 'CANCELLED');
      assert.equal(err.cause, reason);
      // The core withdraws the dropped acquire from the server's queue.
      await eventually('the queue to be empty', async () => (await holder.describe(name))?.waiters.length === 0);
      // Releasing now does not hand the lock to the cancelled waiter.
      await lock.release();
      assert.equal(await holder.describe(name), null, 'nobody got the lock');
    } finally {
      await lock.release();
    }
  });

  it('AbortSignal.timeout cancels too', async () => {
    const name = uniqueName('abort-timeout');
    const lock = await holder.tryLock(name);
    try {
      await assert.rejects(waiter.lock(name, { timeout: 60_000, signal: AbortSignal.timeout(200) }), CancelledError);
      await eventually('the queue to be empty', async () => (await holder.describe(name))?.waiters.length === 0);
    } finally {
      await lock.release();
    }
  });

  it('an already aborted signal rejects at once without queueing', async () => {
    const name = uniqueName('pre-aborted');
    const lock = await holder.tryLock(name);
    try {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(waiter.lock(name, { timeout: 60_000, signal: controller.signal }), CancelledError);
      const info = await holder.describe(name);
      assert.equal(info.waiters.length, 0);
    } finally {
      await lock.release();
    }
  });

  it('a signal that never fires does not disturb the acquire', async () => {
    const name = uniqueName('not-aborted');
    const controller = new AbortController();
    const lock = await waiter.lock(name, { timeout: 1_000, signal: controller.signal });
    controller.abort(); // after the grant: no effect on the held lock
    assert.equal(lock.isHeld(), true);
    await lock.release();
  });

  it('rejects a signal that is not an AbortSignal', async () => {
    await assert.rejects(waiter.lock(uniqueName('x'), { signal: {} }), InvalidArgumentError);
  });
});
