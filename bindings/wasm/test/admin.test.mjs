// Losing a lock to an administrator, with the `tenure` CLI as the admin (a
// native client) and the wasm client as the holder: blacklist and
// force-release resolve the lost promise; the records of the read calls are
// plain objects (ids numbers, tokens bigints); a stale owner id is refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Client, FenceValidator, LockLostError, NotHolderError } from '../index.js';
import { cli, eventually, startCluster, uniqueName, within } from './cluster.mjs';

let cluster;
let admin;

before(async () => {
  cluster = await startCluster();
  admin = Client.connectLazy(cluster.endpoints);
});

after(async () => {
  await admin?.close().catch(() => {});
  await cluster?.stop();
});

describe('losing a lock', () => {
  it('a blacklist from the CLI resolves lost with "session_blacklisted"; the next holder gets a higher token', async () => {
    const holder = await Client.connect(cluster.endpoints, { ttlMs: 2_000, label: 'wasm-zombie' });
    const next = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    try {
      const name = uniqueName('blacklisted');
      const lock = await holder.lock(name, { timeout: 5_000 });
      const states = [];
      const sub = holder.onSessionState((s) => states.push(s));
      await cli(cluster.endpoints, ['blacklist', String(lock.sessionId), '--reason', 'test: wasm zombie']);
      assert.equal(await within(10_000, lock.lost, 'lock.lost'), 'session_blacklisted');
      assert.equal(lock.isHeld(), false);
      assert.equal(lock.lostReason, 'session_blacklisted');
      await eventually('the expired state', () => states.includes('expired'));
      sub.cancel();
      await assert.rejects(lock[Symbol.asyncDispose](), LockLostError);
      // The lock passes on when the blacklisted session reaches its deadline.
      const taken = await next.lock(name, { timeout: 15_000 });
      assert.ok(taken.fencingToken > lock.fencingToken);
      // Storage that saw the new holder rejects the zombie's fence.
      const storage = new FenceValidator();
      storage.check(taken.fence);
      assert.throws(() => storage.check(lock.fence), LockLostError);
      await taken.release();
      const audit = await admin.audit(50);
      assert.ok(audit.some((r) => r.action === 'blacklist' && r.detail.includes('wasm zombie')), JSON.stringify(audit));
    } finally {
      await holder.close().catch(() => {});
      await next.close();
    }
  });

  it('the wasm client blacklists too: the holder loses its lock', async () => {
    const holder = await Client.connect(cluster.endpoints, { ttlMs: 2_000 });
    try {
      const lock = await holder.tryLock(uniqueName('bl-self'));
      const left = await admin.blacklist(lock.sessionId, 'test');
      assert.equal(typeof left, 'number');
      assert.ok(left >= 0 && left <= 2_000, `expires in ${left} ms`);
      assert.equal(await within(10_000, lock.lost, 'lock.lost'), 'session_blacklisted');
      const row = (await admin.listSessions()).find((s) => s.sessionId === lock.sessionId);
      if (row) assert.equal(row.blacklisted, true);
    } finally {
      await holder.close().catch(() => {});
    }
  });

  it('a force-release from the CLI resolves lost with "force_released" and hands the lock to the waiter', async () => {
    const holder = await Client.connect(cluster.endpoints);
    const waiter = await Client.connect(cluster.endpoints);
    try {
      const name = uniqueName('forced');
      const lock = await holder.lock(name, { timeout: 5_000 });
      const waiting = waiter.lock(name, { timeout: 20_000 });
      await eventually('the waiter to queue', async () => (await admin.describe(name))?.waiters.length === 1);
      const described = JSON.parse(await cli(cluster.endpoints, ['describe', name, '--json']));
      assert.equal(JSON.stringify(described).includes(lock.ownerId), true, 'the CLI sees the owner id');
      await cli(cluster.endpoints, ['force-release', name, '--owner', lock.ownerId, '--reason', 'test: stuck']);
      assert.equal(await within(10_000, lock.lost, 'lock.lost'), 'force_released');
      assert.equal(lock.isHeld(), false);
      const next = await within(10_000, waiting, 'the waiter');
      assert.ok(next.fencingToken > lock.fencingToken);
      // The holder's scope exit reports the loss (the core's Lock::finish).
      await assert.rejects(lock[Symbol.asyncDispose](), LockLostError);
      // A second force-release of the old grant is a compare-and-swap miss.
      await assert.rejects(admin.forceRelease(name, lock.ownerId, 'again'), NotHolderError);
      const grants = await admin.forceRelease(name, next.ownerId, 'test: wasm admin');
      assert.deepEqual(grants, []);
      assert.equal(await within(10_000, next.lost, 'next.lost'), 'force_released');
    } finally {
      await holder.close().catch(() => {});
      await waiter.close().catch(() => {});
    }
  });

  it('after a blacklist ends its session, the client opens a fresh one for the next acquire', async () => {
    const c = await Client.connect(cluster.endpoints, { ttlMs: 2_000 });
    try {
      const id = await c.sessionId();
      await cli(cluster.endpoints, ['blacklist', String(id)]);
      await eventually('the session to end', () => c.sessionState === 'expired', { timeoutMs: 10_000 });
      const lock = await c.tryLock(uniqueName('after-blacklist'));
      assert.notEqual(lock.sessionId, id, 'a fresh session');
      await lock.release();
    } finally {
      await c.close().catch(() => {});
    }
  });
});

describe('read calls', () => {
  it('status, listLocks, describe and listSessions return plain objects', async () => {
    const c = await Client.connect(cluster.endpoints, { label: 'wasm-reader' });
    try {
      const name = uniqueName('listed');
      const lock = await c.tryLock(name);
      const status = await admin.status();
      assert.equal(Object.getPrototypeOf(status), Object.prototype);
      assert.equal(status.role, 'leader');
      assert.equal(typeof status.term, 'number');
      assert.equal(typeof status.leaderId, 'number');
      assert.equal(typeof status.leaderAddr, 'string');
      assert.equal(typeof status.nextToken, 'bigint');
      assert.ok(status.nextToken > lock.fencingToken);
      assert.equal(status.members.length, 3);
      assert.deepEqual(Object.keys(status.members[0]).sort(), ['addr', 'id', 'matchedIndex']);
      const locks = await admin.listLocks(name.split('/')[0]);
      const row = locks.find((l) => l.name === name);
      assert.ok(row, JSON.stringify(locks, (k, v) => (typeof v === 'bigint' ? `${v}n` : v)));
      assert.equal(row.holders[0].token, lock.fencingToken);
      assert.equal(row.holders[0].mode, 'exclusive');
      assert.equal(typeof row.holders[0].grantedAtMs, 'number');
      assert.equal(row.delayedUntilMs, 0);
      const sessions = await admin.listSessions();
      const mine = sessions.find((s) => s.sessionId === lock.sessionId);
      assert.equal(mine.label, 'wasm-reader');
      assert.deepEqual(mine.held, [name]);
      assert.equal(typeof mine.remainingMs, 'number');
      assert.equal(await admin.describe(uniqueName('nobody')), null);
      await lock.release();
    } finally {
      await c.close();
    }
  });
});
