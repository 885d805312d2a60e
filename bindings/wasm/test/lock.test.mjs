// The wasm client in Node against a real `tenure dev --web` cluster (gRPC-web
// over fetch, unary Renew keepalives): acquire and release, tokens, try-lock,
// contention, timeouts, a release request, acquireAll (aborts included) and
// client metrics (the Node binding's test/client-suites.mjs), withLock,
// disposal, the lost promise, AbortSignal, a session kept alive by Renew alone for more than 3
// TTLs, and session state.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  CancelledError,
  Client,
  Fence,
  FENCE_HEADER,
  InvalidArgumentError,
  LockHeldError,
  LockLostError,
  TenureError,
  TenureTimeoutError,
  asyncDispose,
} from '../index.js';
import * as tenure from '../index.js';
import { acquireAllSuite, metricsSuite } from '../../node/test/client-suites.mjs';
import { eventually, startCluster, uniqueName, within } from './cluster.mjs';

let cluster;
let a;
let b;

before(async () => {
  cluster = await startCluster();
  a = await Client.connect(cluster.endpoints, { label: 'wasm-test-a' });
  b = await Client.connect(cluster.endpointList, { label: 'wasm-test-b' });
});

after(async () => {
  await a?.close().catch(() => {});
  await b?.close().catch(() => {});
  await cluster?.stop();
});

describe('acquire and release', () => {
  it('grants a lock with its name, bigint token, owner id and fence', async () => {
    const name = uniqueName('jobs/nightly');
    const lock = await a.lock(name, { timeout: 5_000 });
    try {
      assert.equal(lock.name, name);
      assert.equal(typeof lock.fencingToken, 'bigint');
      assert.ok(lock.fencingToken > 0n);
      assert.match(lock.ownerId, /^[0-9a-f]{32}$/);
      assert.equal(lock.mode, 'exclusive');
      assert.equal(lock.sessionId, await a.sessionId());
      assert.equal(lock.isHeld(), true);
      assert.ok(lock.remaining() > 0, 'remaining() is positive while held');
      assert.equal(lock.lostReason, null);
      assert.ok(lock.fence instanceof Fence);
      assert.equal(lock.fence.headerValue(), `${name}=${lock.fencingToken}`);
      assert.equal(FENCE_HEADER, 'tenure-fence');
      const info = await b.describe(name);
      assert.equal(info.name, name);
      assert.equal(info.holders.length, 1);
      assert.equal(info.holders[0].ownerId, lock.ownerId);
      assert.equal(info.holders[0].token, lock.fencingToken);
      assert.equal(info.holders[0].sessionId, lock.sessionId);
      assert.deepEqual(info.waiters, []);
    } finally {
      await lock.release();
    }
    assert.equal(lock.isHeld(), false);
    assert.equal(lock.remaining(), 0);
    assert.equal(lock.lostReason, 'released');
    assert.equal(await a.describe(name), null, 'released on the server');
    await lock.release(); // idempotent
  });

  it('hands out strictly increasing bigint tokens, across clients', async () => {
    const name = uniqueName('tokens');
    const tokens = [];
    for (let i = 0; i < 6; i++) {
      const lock = await (i % 2 ? b : a).tryLock(name);
      tokens.push(lock.fencingToken);
      await lock.release();
    }
    for (let i = 1; i < tokens.length; i++) {
      assert.ok(tokens[i - 1] < tokens[i], `tokens ${tokens.join(', ')}`);
    }
  });

  it('try-lock on a held lock fails with LockHeldError (code LOCK_HELD)', async () => {
    const name = uniqueName('held');
    const lock = await a.tryLock(name);
    try {
      await assert.rejects(b.tryLock(name), (e) => {
        assert.ok(e instanceof LockHeldError);
        assert.ok(e instanceof TenureError);
        assert.ok(e instanceof Error);
        assert.equal(e.code, 'LOCK_HELD');
        assert.equal(e.name, 'LockHeldError');
        assert.match(e.message, /held/);
        return true;
      });
      await assert.rejects(b.acquire(name), LockHeldError);
    } finally {
      await lock.release();
    }
  });

  it('a waiting acquire times out with TenureTimeoutError', async () => {
    const name = uniqueName('timeout');
    const lock = await a.tryLock(name);
    try {
      await assert.rejects(b.lock(name, { timeout: 300 }), (e) => e instanceof TenureTimeoutError && e.code === 'TIMEOUT');
      assert.equal(lock.isHeld(), true, 'the holder is unaffected');
    } finally {
      await lock.release();
    }
  });

  it('contention: a waiter gets the lock when the holder releases, with a higher token', async () => {
    const name = uniqueName('contended');
    const first = await a.lock(name, { timeout: 5_000 });
    const waiting = b.lock(name, { timeout: 20_000 });
    await eventually('the waiter to queue', async () => (await a.describe(name))?.waiters.length === 1);
    await first.release();
    const second = await within(10_000, waiting, 'the waiting acquire');
    try {
      assert.ok(second.fencingToken > first.fencingToken);
      assert.equal(second.sessionId, await b.sessionId());
    } finally {
      await second.release();
    }
  });

  it('a semaphore of 2 permits: two holders, a FIFO waiter, a value, and no other size while in use', async () => {
    const name = uniqueName('sem');
    const one = await a.semaphore(name, 2).tryAcquire({ value: 'a' });
    const two = await b.semaphore(name, 2).tryAcquire();
    try {
      assert.ok(two.fencingToken > one.fencingToken);
      await assert.rejects(b.semaphore(name, 2).tryAcquire(), LockHeldError);
      await assert.rejects(b.semaphore(name, 3).tryAcquire(), InvalidArgumentError);
      const waiting = b.semaphore(name, 2).acquire({ timeout: 20_000 });
      await eventually('the waiter to queue', async () => (await a.describe(name))?.waiters.length === 1);
      const info = await a.describe(name);
      assert.equal(info.permitLimit, 2);
      assert.deepEqual(info.holders.map((h) => [h.permits, h.value]), [[1, 'a'], [1, '']]);
      await one.release();
      const three = await within(10_000, waiting, 'the waiting acquire');
      assert.ok(three.fencingToken > two.fencingToken);
      await three.release();
    } finally {
      await one.release();
      await two.release();
    }
  });

  it('a release request reaches the holder by Renew; the lock stays held until it releases', async () => {
    const name = uniqueName('revoke');
    const holder = await Client.connect(cluster.endpoints, { ttlMs: 3_000, label: 'wasm-test-revoke' });
    try {
      const lock = await holder.tryLock(name);
      let calls = 0;
      lock.onRevokeRequested(() => { calls += 1; });
      assert.equal(lock.revokeRequested, false);
      assert.deepEqual(await b.requestRelease(name, { ownerId: '7'.padStart(32, '0'), reason: 'not it' }), []);
      const asked = await b.requestRelease(name, { reason: 'deploy' });
      assert.deepEqual(asked.map((g) => [g.ownerId, g.token]), [[lock.ownerId, lock.fencingToken]]);
      assert.equal(await within(10_000, lock.waitRevokeRequested(), 'waitRevokeRequested()'), true);
      assert.equal(lock.revokeRequested, true);
      await eventually('the onRevokeRequested callback', () => calls === 1);
      // Registered after the request: called too.
      const late = new Promise((resolve) => lock.onRevokeRequested(() => resolve('late')));
      assert.equal(await within(5_000, late, 'late onRevokeRequested callback'), 'late');
      assert.equal((await b.describe(name)).holders[0].releaseRequested, true);
      assert.equal(lock.isHeld(), true);
      await assert.rejects(b.tryLock(name), LockHeldError);
      await lock.release();
      const next = await b.tryLock(name);
      assert.ok(next.fencingToken > lock.fencingToken);
      assert.equal((await b.describe(name)).holders[0].releaseRequested, false);
      await next.release();
      assert.equal(calls, 1);
      await assert.rejects(b.requestRelease(name, { ownerId: 7 }), InvalidArgumentError);
      const unasked = await holder.tryLock(name);
      const told = unasked.waitRevokeRequested();
      await unasked.release();
      assert.equal(await within(5_000, told, 'waitRevokeRequested() of a released lock'), false);
    } finally {
      await holder.close();
    }
  });

  it('lock() needs a timeout, as in every binding', async () => {
    await assert.rejects(a.lock(uniqueName('no-timeout')), InvalidArgumentError);
    await assert.rejects(a.tryLock(''), InvalidArgumentError);
    await assert.rejects(a.tryLock(42), InvalidArgumentError);
  });
});

// The Node binding's suites of the same API, run on this package.
acquireAllSuite(tenure, () => ({ endpoints: cluster.endpoints, a, b }));
metricsSuite(tenure, () => ({ endpoints: cluster.endpoints }));

describe('withLock, disposal, lost', () => {
  it('withLock runs the work under the lock and releases it', async () => {
    const name = uniqueName('with');
    let seen;
    const out = await a.withLock(name, async (lock, signal) => {
      seen = lock;
      assert.equal(lock.isHeld(), true);
      assert.equal(signal.aborted, false);
      assert.equal((await b.describe(name)).holders[0].ownerId, lock.ownerId);
      return 42;
    }, { timeout: 5_000 });
    assert.equal(out, 42);
    assert.equal(seen.isHeld(), false);
    assert.equal(await a.describe(name), null);
    // The brief's order, (name, options, work), is accepted too.
    assert.equal(await a.withLock(name, { timeout: 5_000 }, () => 'sync'), 'sync');
  });

  it("withLock passes the work's own error through untouched and releases the lock", async () => {
    const name = uniqueName('with-throw');
    const boom = new RangeError('boom');
    await assert.rejects(a.withLock(name, async () => { throw boom; }, { timeout: 5_000 }), (e) => e === boom);
    await assert.rejects(a.withLock(name, () => { throw boom; }, { timeout: 5_000 }), (e) => e === boom);
    assert.equal(await a.describe(name), null);
  });

  it('withLock aborts the work and rejects with LockLostError when the lock is force-released', async () => {
    const name = uniqueName('with-lost');
    let signalSeen;
    let held;
    const running = a.withLock(name, (lock, signal) => {
      signalSeen = signal;
      held = lock;
      return new Promise(() => {}); // work that never ends by itself
    }, { timeout: 5_000 });
    const outcome = running.then(() => 'resolved', (e) => e);
    await eventually('the work to start', () => held);
    await b.forceRelease(name, held.ownerId, 'test: withLock loses its lock');
    const err = await within(10_000, outcome, 'withLock');
    assert.ok(err instanceof LockLostError, `withLock rejected with ${err}`);
    assert.equal(signalSeen.aborted, true);
    assert.ok(signalSeen.reason instanceof LockLostError);
    assert.equal(held.lostReason, 'force_released');
  });

  it('Symbol.asyncDispose releases the lock (what `await using` calls)', async () => {
    const name = uniqueName('dispose');
    const lock = await a.lock(name, { timeout: 1_000 });
    assert.equal(typeof lock[asyncDispose], 'function');
    await lock[asyncDispose]();
    assert.equal(lock.isHeld(), false);
    assert.equal(await a.describe(name), null);
  });

  it('lost resolves and onLost fires with "released"', async () => {
    const lock = await a.tryLock(uniqueName('lost'));
    const called = new Promise((resolve) => lock.onLost(resolve));
    await lock.release();
    assert.equal(await within(5_000, lock.lost, 'lock.lost'), 'released');
    assert.equal(await within(5_000, called, 'onLost'), 'released');
  });

  it('run() rejects with LockLostError and aborts the signal when the client closes', async () => {
    const c = await Client.connect(cluster.endpoints);
    const lock = await c.tryLock(uniqueName('run'));
    let signalSeen;
    const outcome = lock.run((l, signal) => {
      signalSeen = signal;
      return new Promise(() => {});
    }).then(() => 'resolved', (e) => e);
    await c.close();
    const err = await within(5_000, outcome, 'run()');
    assert.ok(err instanceof LockLostError, `run() rejected with ${err}`);
    assert.equal(signalSeen.aborted, true);
    assert.equal(await lock.lost, 'client_closed');
  });
});

describe('AbortSignal', () => {
  it('aborting a waiting lock rejects with CancelledError and withdraws it from the queue', async () => {
    const name = uniqueName('abort');
    const lock = await a.tryLock(name);
    try {
      const controller = new AbortController();
      const outcome = b.lock(name, { timeout: 60_000, signal: controller.signal }).then(() => null, (e) => e);
      await eventually('the waiter to queue', async () => (await a.describe(name))?.waiters.length === 1);
      const reason = new Error('shutting down');
      controller.abort(reason);
      const err = await within(5_000, outcome, 'the aborted acquire');
      assert.ok(err instanceof CancelledError, `rejected with ${err}`);
      assert.equal(err.code, 'CANCELLED');
      assert.equal(err.cause, reason);
      await eventually('the queue to be empty', async () => (await a.describe(name))?.waiters.length === 0);
      await lock.release();
      assert.equal(await a.describe(name), null, 'nobody got the lock');
    } finally {
      await lock.release();
    }
  });

  it('AbortSignal.timeout cancels a waiting withLock before its work starts', async () => {
    const name = uniqueName('abort-with');
    const lock = await a.tryLock(name);
    try {
      let ran = false;
      await assert.rejects(
        b.withLock(name, () => { ran = true; }, { timeout: 60_000, signal: AbortSignal.timeout(300) }),
        CancelledError,
      );
      assert.equal(ran, false);
      await eventually('the queue to be empty', async () => (await a.describe(name))?.waiters.length === 0);
    } finally {
      await lock.release();
    }
  });

  it("aborting during withLock's work aborts the work's signal, rejects with CancelledError and frees the lock", async () => {
    const name = uniqueName('abort-work');
    const controller = new AbortController();
    let workSignal;
    const outcome = b.withLock(name, (lock, signal) => {
      workSignal = signal;
      return new Promise(() => {}); // work that never ends by itself
    }, { timeout: 5_000, signal: controller.signal }).then(() => null, (e) => e);
    await eventually('the work to start', () => workSignal);
    controller.abort(new Error('user left'));
    const err = await within(5_000, outcome, 'the aborted withLock');
    assert.ok(err instanceof CancelledError, `rejected with ${err}`);
    assert.equal(workSignal.aborted, true);
    assert.ok(workSignal.reason instanceof CancelledError);
    await eventually('the lock to be free', async () => (await a.describe(name)) === null);
  });

  it('rejects a signal that is not an AbortSignal', async () => {
    await assert.rejects(b.lock(uniqueName('x'), { timeout: 10, signal: {} }), InvalidArgumentError);
  });
});

describe('session', () => {
  it('Renew alone keeps a 2 s session and its lock for more than 3 TTLs', async () => {
    const c = await Client.connect(cluster.endpoints, { ttlMs: 2_000, label: 'wasm-renew' });
    try {
      const states = [];
      const sub = c.onSessionState((s) => states.push(s));
      const lock = await c.tryLock(uniqueName('renewed'));
      const id = await c.sessionId();
      await new Promise((r) => setTimeout(r, 6_500));
      const why = `lost: ${lock.lostReason}, states: ${states}`;
      assert.equal(lock.isHeld(), true, `still held after 6.5 s (> 3 TTLs); ${why}`);
      assert.equal(c.sessionState, 'healthy', why);
      assert.deepEqual(states.filter((s) => s !== 'healthy'), [], why);
      const row = (await a.listSessions()).find((s) => s.sessionId === id);
      assert.ok(row, 'the session is alive on the server');
      assert.equal(row.label, 'wasm-renew');
      assert.equal(row.ttlMs, 2_000);
      assert.deepEqual(row.held, [lock.name]);
      assert.equal((await a.describe(lock.name)).holders[0].token, lock.fencingToken);
      sub.cancel();
      await lock.release();
    } finally {
      await c.close();
    }
  });

  it('reports state and ends with the client: locks lost with "client_closed"', async () => {
    const c = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    assert.equal(c.sessionState, 'healthy');
    const id = await c.sessionId();
    assert.equal(typeof id, 'number');
    const states = [];
    const sub = c.onSessionState((s) => states.push(s));
    const lock = await c.tryLock(uniqueName('closed'));
    await c.close();
    assert.equal(await within(5_000, lock.lost, 'lock.lost'), 'client_closed');
    assert.equal(c.sessionState, 'expired');
    await eventually('the state callback', () => states.includes('expired'), { timeoutMs: 5_000 });
    sub.cancel();
    sub.cancel(); // idempotent
    assert.ok(!(await a.listSessions()).some((s) => s.sessionId === id), 'closed on the server');
  });

  it('hostPaused() puts a healthy session in jeopardy and renews it at once', async () => {
    const c = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    try {
      const states = [];
      const sub = c.onSessionState((s) => states.push(s));
      const lock = await c.tryLock(uniqueName('paused'));
      await c.hostPaused();
      await eventually('jeopardy then healthy', () => states.includes('jeopardy') && states.at(-1) === 'healthy', { timeoutMs: 5_000 });
      assert.equal(lock.isHeld(), true);
      sub.cancel();
      await lock.release();
    } finally {
      await c.close();
    }
  });

  it('a lazy client opens its session on the first acquire', async () => {
    const c = Client.connectLazy(cluster.endpoints);
    try {
      assert.equal(await c.sessionId(), null);
      assert.equal(c.sessionState, 'expired');
      assert.equal((await c.status()).members.length, 3);
      assert.equal(await c.sessionId(), null, 'admin reads open no session');
      const lock = await c.tryLock(uniqueName('lazy'));
      assert.equal(typeof (await c.sessionId()), 'number');
      await lock.release();
    } finally {
      await c.close();
    }
  });
});
