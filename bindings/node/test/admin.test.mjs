// Admin calls and losing a lock: blacklist, force-release (compare-and-swap),
// listings, status and audit, against a real cluster.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Client, NotHolderError, SessionBlacklistedError, SessionExpiredError } from 'tenure';
import { eventually, startCluster, uniqueName, within } from './cluster.mjs';

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
  it('blacklisting the holder session loses its lock; the next holder gets a higher token', async () => {
    const holder = await Client.connect(cluster.endpoints, { ttlMs: 3_000, label: 'zombie' });
    const next = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    try {
      const name = uniqueName('blacklisted');
      const lock = await holder.lock(name, { timeout: 5_000 });
      const onLost = new Promise((resolve) => lock.onLost(resolve));
      const states = [];
      const sub = holder.onSessionState((s) => states.push(s));
      const left = await admin.blacklist(lock.sessionId, 'test: zombie holder');
      assert.equal(typeof left, 'number');
      assert.ok(left >= 0 && left <= 3_000, `expires in ${left} ms`);
      assert.equal(await within(10_000, lock.lost, 'lock.lost'), 'session_blacklisted');
      assert.equal(await within(5_000, onLost, 'onLost'), 'session_blacklisted');
      assert.equal(lock.isHeld(), false);
      assert.equal(lock.remaining(), 0);
      assert.equal(lock.lostReason, 'session_blacklisted');
      await eventually('the expired state', () => states.includes('expired'));
      sub.cancel();
      const sessions = await admin.listSessions();
      const row = sessions.find((s) => s.sessionId === lock.sessionId);
      if (row) assert.equal(row.blacklisted, true);

      // The lock passes on when the blacklisted session reaches its deadline.
      const taken = await next.lock(name, { timeout: 15_000 });
      assert.ok(taken.fencingToken > lock.fencingToken);
      await taken.release();

      const audit = await admin.audit(50);
      assert.ok(
        audit.some((r) => r.action === 'blacklist' && r.detail.includes('zombie holder')),
        JSON.stringify(audit),
      );
    } finally {
      await holder.close().catch(() => {});
      await next.close();
    }
  });

  it('a blacklisted session cannot wait for more locks', async () => {
    const holder = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    try {
      const sessionId = await holder.sessionId();
      await admin.blacklist(sessionId, 'test');
      // Either the server refuses it as blacklisted, or the client already
      // ended the session (and then opens a fresh one, which works).
      await holder.tryLock(uniqueName('after-blacklist')).then(
        async (lock) => {
          assert.notEqual(lock.sessionId, sessionId, 'a new session was opened');
          await lock.release();
        },
        (e) => {
          assert.ok(e instanceof SessionBlacklistedError || e instanceof SessionExpiredError, String(e));
        },
      );
    } finally {
      await holder.close().catch(() => {});
    }
  });

  it('force-release frees the grant, marks it lost and hands the lock to the waiter', async () => {
    const holder = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    const waiter = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    try {
      const name = uniqueName('forced');
      const lock = await holder.lock(name, { timeout: 5_000 });
      const waiting = waiter.lock(name, { timeout: 20_000 });
      await eventually('the waiter to queue', async () => (await admin.describe(name))?.waiters.length === 1);
      const grants = await admin.forceRelease(name, lock.ownerId, 'test: stuck holder');
      assert.equal(grants.length, 1);
      assert.equal(grants[0].name, name);
      assert.equal(typeof grants[0].token, 'bigint');
      assert.ok(grants[0].token > lock.fencingToken);
      const taken = await within(10_000, waiting, 'the waiting acquire');
      assert.equal(taken.fencingToken, grants[0].token);
      assert.equal(taken.ownerId, grants[0].ownerId);
      assert.equal(await within(10_000, lock.lost, 'lock.lost'), 'force_released');
      assert.equal(lock.isHeld(), false);

      // Compare-and-swap: the stale owner id no longer names the grant.
      await assert.rejects(admin.forceRelease(name, lock.ownerId, 'again'), (e) => {
        assert.ok(e instanceof NotHolderError);
        assert.equal(e.code, 'NOT_HOLDER');
        return true;
      });
      await lock.release(); // releasing a lost lock is fine
      assert.equal(taken.isHeld(), true, 'the new holder is unaffected');
      await taken.release();
      const audit = await admin.audit();
      assert.ok(audit.some((r) => r.action === 'force-release' && r.target.includes(name)), JSON.stringify(audit));
    } finally {
      await holder.close();
      await waiter.close();
    }
  });
});

describe('reads', () => {
  it('status, listLocks, listSessions and describe', async () => {
    const c = await Client.connect(cluster.endpoints, { label: 'lister' });
    try {
      const prefix = uniqueName('list');
      const l1 = await c.tryLock(`${prefix}/a`);
      const l2 = await c.tryLock(`${prefix}/b`);
      const locks = await admin.listLocks(prefix);
      assert.deepEqual(locks.map((l) => l.name), [`${prefix}/a`, `${prefix}/b`]);
      assert.equal(locks[0].holders[0].token, l1.fencingToken);
      assert.equal(typeof locks[0].holders[0].grantedAtMs, 'number');
      const sessions = await admin.listSessions();
      const mine = sessions.find((s) => s.sessionId === l1.sessionId);
      assert.ok(mine, 'own session listed');
      assert.equal(mine.label, 'lister');
      assert.deepEqual([...mine.held].sort(), [`${prefix}/a`, `${prefix}/b`]);
      const status = await admin.status();
      assert.equal(status.members.length, 3);
      assert.equal(typeof status.nextToken, 'bigint');
      assert.ok(status.nextToken > l2.fencingToken);
      assert.ok(typeof status.leaderAddr === 'string' && cluster.endpointList.includes(status.leaderAddr));
      assert.deepEqual(admin.endpoints, cluster.endpointList);
      assert.equal(await admin.describe(uniqueName('nobody')), null);
      await l1.release();
      await l2.release();
    } finally {
      await c.close();
    }
  });
});
