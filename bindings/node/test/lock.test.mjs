// Acquire, release, contention, timeouts, try-lock, shared mode, tokens,
// withLock, disposal, lost notifications and session state, against a real
// cluster; acquireAll (aborts included) and client metrics from
// client-suites.mjs, which the wasm binding's tests run too.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  Client,
  Fence,
  FENCE_HEADER,
  InvalidArgumentError,
  LockHeldError,
  LockLostError,
  TenureError,
  TenureTimeoutError,
  asyncDispose,
} from 'tenure';
import * as tenure from 'tenure';
import { acquireAllSuite, metricsSuite } from './client-suites.mjs';
import { eventually, startCluster, uniqueName, within } from './cluster.mjs';

let cluster;
let a;
let b;

before(async () => {
  cluster = await startCluster();
  a = await Client.connect(cluster.endpoints, { label: 'node-test-a' });
  b = await Client.connect(cluster.endpointList, { label: 'node-test-b' });
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
      assert.equal(lock.fence.lock, name);
      assert.equal(lock.fence.token, lock.fencingToken);
      assert.equal(lock.fence.headerValue(), `${name}=${lock.fencingToken}`);
      assert.equal(FENCE_HEADER, 'tenure-fence');
      const info = await a.describe(name);
      assert.equal(info.holders.length, 1);
      assert.equal(info.holders[0].ownerId, lock.ownerId);
      assert.equal(info.holders[0].token, lock.fencingToken);
    } finally {
      await lock.release();
    }
    assert.equal(lock.isHeld(), false);
    assert.equal(lock.remaining(), 0);
    assert.equal(lock.lostReason, 'released');
    assert.equal(await a.describe(name), null, 'released on the server');
    await lock.release(); // idempotent
  });

  it('hands out strictly increasing tokens', async () => {
    const name = uniqueName('tokens');
    const tokens = [];
    for (let i = 0; i < 3; i++) {
      const lock = await a.tryLock(name);
      tokens.push(lock.fencingToken);
      await lock.release();
    }
    assert.ok(tokens[0] < tokens[1] && tokens[1] < tokens[2], `tokens ${tokens}`);
  });

  it('try-lock on a held lock fails with LockHeldError', async () => {
    const name = uniqueName('held');
    const lock = await a.tryLock(name);
    try {
      await assert.rejects(b.tryLock(name), (e) => {
        assert.ok(e instanceof LockHeldError);
        assert.ok(e instanceof TenureError);
        assert.ok(e instanceof Error);
        assert.equal(e.code, 'LOCK_HELD');
        assert.equal(e.name, 'LockHeldError');
        return true;
      });
      // acquire() without a timeout also tries once.
      await assert.rejects(b.acquire(name), LockHeldError);
    } finally {
      await lock.release();
    }
  });

  it('a waiting acquire times out with TenureTimeoutError', async () => {
    const name = uniqueName('timeout');
    const lock = await a.tryLock(name);
    try {
      await assert.rejects(b.lock(name, { timeout: 300 }), (e) => {
        assert.ok(e instanceof TenureTimeoutError);
        assert.equal(e.code, 'TIMEOUT');
        return true;
      });
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
    let settled = false;
    waiting.then(() => { settled = true; }, () => { settled = true; });
    assert.equal(settled, false, 'still waiting while held');
    await first.release();
    const second = await within(10_000, waiting, 'the waiting acquire');
    try {
      assert.ok(second.fencingToken > first.fencingToken);
      assert.equal(second.sessionId, await b.sessionId());
      assert.notEqual(second.sessionId, first.sessionId);
    } finally {
      await second.release();
    }
  });

  it('shared mode admits several holders and excludes an exclusive one', async () => {
    const name = uniqueName('shared');
    const s1 = await a.tryLock(name, { shared: true });
    const s2 = await b.lock(name, { shared: true, timeout: 1_000 });
    try {
      assert.equal(s1.mode, 'shared');
      assert.equal(s2.mode, 'shared');
      const info = await a.describe(name);
      assert.equal(info.holders.length, 2);
      assert.deepEqual(info.holders.map((h) => h.mode), ['shared', 'shared']);
      // An exclusive try from a third session (from a holder's own session it
      // would be ALREADY_HELD).
      const c = await Client.connect(cluster.endpoints, { label: 'node-test-c' });
      try {
        await assert.rejects(c.tryLock(name), LockHeldError);
      } finally {
        await c.close();
      }
    } finally {
      await s1.release();
      await s2.release();
    }
  });
});

acquireAllSuite(tenure, () => ({ endpoints: cluster.endpoints, a, b }));
metricsSuite(tenure, () => ({ endpoints: cluster.endpoints }));

describe('helpers', () => {
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
  });

  it('withLock releases the lock when the work throws, and rethrows', async () => {
    const name = uniqueName('with-throw');
    await assert.rejects(
      a.withLock(name, async () => {
        throw new Error('boom');
      }, { timeout: 5_000 }),
      /boom/,
    );
    assert.equal(await a.describe(name), null);
  });

  it('Symbol.asyncDispose releases the lock (what `await using` calls)', async () => {
    const name = uniqueName('dispose');
    const lock = await a.lock(name, { timeout: 1_000 });
    assert.equal(typeof lock[asyncDispose], 'function');
    assert.equal(lock[Symbol.asyncDispose], lock[asyncDispose]);
    await lock[asyncDispose]();
    assert.equal(lock.isHeld(), false);
    assert.equal(await a.describe(name), null);
  });

  it('lost resolves and onLost fires with "released"', async () => {
    const name = uniqueName('lost');
    const lock = await a.tryLock(name);
    const called = new Promise((resolve) => lock.onLost(resolve));
    await lock.release();
    assert.equal(await within(5_000, lock.lost, 'lock.lost'), 'released');
    assert.equal(await within(5_000, called, 'onLost callback'), 'released');
    // Registered after the loss: called too.
    const late = new Promise((resolve) => lock.onLost(resolve));
    assert.equal(await within(5_000, late, 'late onLost callback'), 'released');
  });

  it('a release request: the flag, the promise and onRevokeRequested (also late); the lock stays held', async () => {
    const name = uniqueName('revoke');
    const c = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    try {
      const lock = await c.tryLock(name);
      const called = new Promise((resolve) => lock.onRevokeRequested(() => resolve('called')));
      assert.equal(lock.revokeRequested, false);
      assert.equal((await b.requestRelease(name)).length, 1);
      assert.equal(await within(10_000, lock.waitRevokeRequested(), 'waitRevokeRequested()'), true);
      assert.equal(lock.revokeRequested, true);
      assert.equal(await within(5_000, called, 'onRevokeRequested callback'), 'called');
      // Registered after the request: called too.
      const late = new Promise((resolve) => lock.onRevokeRequested(() => resolve('late')));
      assert.equal(await within(5_000, late, 'late onRevokeRequested callback'), 'late');
      assert.equal(lock.isHeld(), true);
      await lock.release();
      await assert.rejects(b.requestRelease(''), InvalidArgumentError);
      assert.deepEqual(await b.requestRelease(name), [], 'nobody holds it');
    } finally {
      await c.close();
    }
  });

  it('waitRevokeRequested() resolves false when the lock is released without a request', async () => {
    const lock = await a.tryLock(uniqueName('unasked'));
    const told = lock.waitRevokeRequested();
    await lock.release();
    assert.equal(await within(5_000, told, 'waitRevokeRequested()'), false);
    assert.equal(lock.revokeRequested, false);
  });

  it('run() rejects with LockLostError and aborts the signal when the lock is lost', async () => {
    const c = await Client.connect(cluster.endpoints);
    const lock = await c.tryLock(uniqueName('run'));
    let signalSeen;
    const running = lock.run((l, signal) => {
      signalSeen = signal;
      return new Promise(() => {}); // work that never ends by itself
    });
    const outcome = running.then(() => 'resolved', (e) => e);
    await c.close();
    const err = await within(5_000, outcome, 'run()');
    assert.ok(err instanceof LockLostError, `run() rejected with ${err}`);
    assert.match(err.message, /client closed/); // the core's message
    assert.equal(signalSeen.aborted, true);
    assert.ok(signalSeen.reason instanceof LockLostError);
  });
});

describe('session', () => {
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
    assert.equal(lock.isHeld(), false);
    assert.equal(c.sessionState, 'expired');
    await eventually('the state callback', () => states.includes('expired'), { timeoutMs: 5_000 });
    sub.cancel();
    sub.cancel(); // idempotent
    const sessions = await a.listSessions();
    assert.ok(!sessions.some((s) => s.sessionId === id), 'the session is closed on the server');
  });

  it('a lazy client opens its session on the first acquire', async () => {
    const c = Client.connectLazy(cluster.endpoints);
    try {
      assert.equal(await c.sessionId(), null);
      assert.equal(c.sessionState, 'expired');
      const status = await c.status();
      assert.equal(status.members.length, 3);
      assert.equal(await c.sessionId(), null, 'admin reads open no session');
      const lock = await c.tryLock(uniqueName('lazy'));
      assert.equal(typeof (await c.sessionId()), 'number');
      assert.equal(c.sessionState, 'healthy');
      await lock.release();
    } finally {
      await c.close();
    }
  });
});
