// Test suites of the API the Node and wasm bindings share, written once: each
// takes the package's exports (`tenure`, or the wasm package's index.js) and
// a function returning the running fixture ({ endpoints, a, b }: the
// cluster's endpoints and two connected clients), and adds node:test suites.
// Used by test/lock.test.mjs here and by bindings/wasm/test/lock.test.mjs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { eventually, uniqueName, within } from './cluster.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Connects a further client; `work(client)` runs with it, then it is closed. */
async function withClient(pkg, endpoints, options, work) {
  const client = await pkg.Client.connect(endpoints, options);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Client#acquireAll and tryAcquireAll: all or none, waiting, aborting, checks. */
export function acquireAllSuite(pkg, fixture) {
  const { AlreadyHeldError, CancelledError, InvalidArgumentError, LockHeldError, MAX_ACQUIRE_ALL, TenureTimeoutError } = pkg;

  describe('acquireAll', () => {
    it('grants every name at once, a lock each, in the order given', async () => {
      const { a, b } = fixture();
      const names = [uniqueName('all'), uniqueName('all'), uniqueName('all')];
      const locks = await a.acquireAll(names, { value: 'batch 7', lockDelayMs: 0 });
      try {
        assert.deepEqual(locks.map((l) => l.name), names);
        assert.equal(new Set(locks.map((l) => l.ownerId)).size, 3);
        assert.ok(locks[0].fencingToken < locks[1].fencingToken && locks[1].fencingToken < locks[2].fencingToken);
        for (const lock of locks) {
          assert.equal(lock.isHeld(), true);
          assert.equal(lock.mode, 'exclusive');
          assert.equal((await b.describe(lock.name)).holders[0].value, 'batch 7');
        }
        // Taken by a: b's try fails naming it, and gets none of its names.
        const other = uniqueName('all');
        await assert.rejects(b.tryAcquireAll([other, names[1]]), (e) => e instanceof LockHeldError && e.message.includes(names[1]));
        assert.equal(await b.describe(other), null, 'all or none');
        // Held by a itself: ALREADY_HELD at once, not a wait behind itself.
        await assert.rejects(a.acquireAll([names[2]], { timeout: 5_000 }), AlreadyHeldError);
      } finally {
        for (const lock of locks) await lock.release();
      }
    });

    it('waits until the taken name is released, then gets both', async () => {
      const { a, b } = fixture();
      const names = [uniqueName('all-wait'), uniqueName('all-wait')];
      const held = await b.tryLock(names[1]);
      const waiting = a.acquireAll(names, { timeout: 20_000 });
      await sleep(300);
      // Queued in both names' FIFO queues, holding neither.
      const queued = await b.describe(names[0]);
      assert.ok(queued === null || queued.holders.length === 0, 'nothing held while waiting');
      await held.release();
      const got = await within(10_000, waiting, 'the waiting acquireAll');
      assert.deepEqual(got.map((l) => l.name), names);
      assert.ok(got[1].fencingToken > held.fencingToken);
      for (const lock of got) await lock.release();
    });

    it('shared mode for every name; a waiting acquireAll times out with TenureTimeoutError', async () => {
      const { endpoints, a, b } = fixture();
      const names = [uniqueName('all-shared'), uniqueName('all-shared')];
      const mine = await a.tryAcquireAll(names, { shared: true });
      const theirs = await b.acquireAll(names, { shared: true, timeout: 1_000 });
      try {
        assert.deepEqual([...mine, ...theirs].map((l) => l.mode), ['shared', 'shared', 'shared', 'shared']);
        await withClient(pkg, endpoints, { label: 'test-all-c' }, async (c) => {
          await assert.rejects(c.acquireAll(names, { timeout: 300 }), TenureTimeoutError);
          assert.equal((await c.describe(names[0])).holders.length, 2);
        });
      } finally {
        for (const lock of [...mine, ...theirs]) await lock.release();
      }
    });

    it('rejects no names, too many, a name twice, bad names and semaphore permits', async () => {
      const { a } = fixture();
      const name = uniqueName('all-bad');
      const many = Array.from({ length: MAX_ACQUIRE_ALL + 1 }, (_, i) => `${name}-${i}`);
      assert.equal(MAX_ACQUIRE_ALL, 64);
      for (const names of [[], many, [name, name], [name, ''], 'not-a-list', [name, 7]]) {
        await assert.rejects(a.tryAcquireAll(names), InvalidArgumentError, JSON.stringify(names));
      }
      await assert.rejects(a.tryAcquireAll([name], { permits: 1, permitLimit: 2 }), InvalidArgumentError);
      await assert.rejects(a.acquireAll([name], { timeout: -1 }), InvalidArgumentError);
      await assert.rejects(a.acquireAll([name], { signal: {} }), InvalidArgumentError);
      assert.equal(await a.describe(name), null, 'nothing granted');
      const all = await a.tryAcquireAll(many.slice(0, MAX_ACQUIRE_ALL));
      assert.equal(all.length, MAX_ACQUIRE_ALL);
      for (const lock of all) await lock.release();
    });

    it('aborting a waiting acquireAll rejects with CancelledError and leaves nothing held', async () => {
      const { a, b } = fixture();
      const [free, taken] = [uniqueName('abort-all'), uniqueName('abort-all')];
      const lock = await b.tryLock(taken);
      try {
        const controller = new AbortController();
        const outcome = a.acquireAll([free, taken], { timeout: 60_000, signal: controller.signal })
          .then(() => null, (e) => e);
        await sleep(300); // trying again and again meanwhile
        const reason = new Error('shutting down');
        controller.abort(reason);
        const err = await within(5_000, outcome, 'the aborted acquireAll');
        assert.ok(err instanceof CancelledError, `rejected with ${err}`);
        assert.equal(err.cause, reason);
        await eventually('nothing held', async () => (await b.describe(free)) === null);
        await lock.release();
        // No try goes on after the abort: what is freed stays free.
        await sleep(700);
        assert.equal(await b.describe(free), null);
        assert.equal(await b.describe(taken), null, 'nobody got the lock');
        // The aborted client's session holds neither (else ALREADY_HELD).
        for (const l of await a.tryAcquireAll([free, taken])) await l.release();
      } finally {
        await lock.release();
      }
    });

    it('an acquireAll aborted at any moment of a try holds nothing afterwards', async () => {
      const { a, b } = fixture();
      for (const delay of [0, 1, 2, 5, 10, 20]) {
        const names = [uniqueName('abort-any'), uniqueName('abort-any')];
        const controller = new AbortController();
        const pending = a.acquireAll(names, { timeout: 10_000, signal: controller.signal });
        await sleep(delay);
        controller.abort();
        // Granted before the abort (then both), or aborted: then whatever
        // the try in flight got is released in the background.
        const got = await pending.catch((e) => {
          assert.ok(e instanceof CancelledError, `rejected with ${e}`);
          return [];
        });
        assert.ok(got.length === 0 || got.length === 2, `got ${got.length} locks`);
        for (const l of got) await l.release();
        for (const name of names) {
          await eventually(`${name} free`, async () => (await b.describe(name)) === null);
        }
      }
    });
  });
}

/** Client#metrics and metricsText: counters per prefix, Prometheus lines. */
export function metricsSuite(pkg, fixture) {
  const { LockHeldError } = pkg;

  describe('client metrics', () => {
    it('counts acquires, failures, releases and losses per prefix', async () => {
      const { endpoints } = fixture();
      await withClient(pkg, endpoints, { ttlMs: 3_000, label: 'test-metrics-x' }, (x) =>
        withClient(pkg, endpoints, { ttlMs: 3_000, label: 'test-metrics-y' }, async (y) => {
          assert.deepEqual(x.metrics(), []);
          const name = uniqueName('m'); // prefix m/
          const first = await x.tryLock(name);
          await assert.rejects(y.tryLock(name), LockHeldError);
          await first.release();
          const second = await y.tryLock(name);
          await x.forceRelease(name, second.ownerId, 'metrics test');
          assert.equal(await within(10_000, second.lost, 'the loss'), 'force_released');
          const counters = (c) => {
            const m = c.metrics().find((p) => p.prefix === 'm/');
            assert.ok(m, 'the prefix is counted');
            assert.ok(m.acquireWaitMsTotal >= 0 && m.holdMsTotal >= 0);
            return [m.acquired, m.acquireFailed, m.released, m.lost];
          };
          assert.deepEqual(counters(x), [1, 0, 1, 0]);
          assert.deepEqual(counters(y), [1, 1, 0, 1]);
          const lines = y.metricsText().split('\n');
          for (const line of [
            '# TYPE tenure_client_acquires_total counter',
            'tenure_client_acquires_total{prefix="m/",result="ok"} 1',
            'tenure_client_acquires_total{prefix="m/",result="LOCK_HELD"} 1',
            'tenure_client_locks_lost_total{prefix="m/",reason="force_released"} 1',
            'tenure_client_acquire_wait_seconds_count{prefix="m/"} 1',
            'tenure_client_hold_seconds_count{prefix="m/"} 1',
          ]) {
            assert.ok(lines.includes(line), `missing ${line} in\n${lines.join('\n')}`);
          }
          // An acquireAll counts once per name; a name without a slash counts under ''.
          const all = await x.tryAcquireAll([uniqueName('mm'), uniqueName('mm'), `plain-${uniqueName('p').slice(2)}`]);
          for (const lock of all) await lock.release();
          const acquired = Object.fromEntries(x.metrics().map((p) => [p.prefix, p.acquired]));
          assert.equal(acquired['mm/'], 2);
          assert.equal(acquired[''], 1);
        }));
    });
  });
}
