// Fencing end to end: a real SQLite database (better-sqlite3) accepts a write
// only with a token at least as high as the last one it stored, so a holder
// whose grant was taken away cannot overwrite the new holder's data.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { Client, LockLostError } from 'tenure';
import { eventually, startCluster, uniqueName, within } from './cluster.mjs';

let cluster;
let dir;
let db;

before(async () => {
  cluster = await startCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tenure-node-sqlite-'));
  db = new Database(path.join(dir, 'bank.db'));
  db.defaultSafeIntegers(true); // INTEGER columns come back as bigint, like tokens
  db.exec(`
    CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, fence INTEGER NOT NULL DEFAULT 0);
    INSERT INTO accounts (id, balance) VALUES (1, 100);
  `);
});

after(async () => {
  db?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  await cluster?.stop();
});

/** The storage-side check: one conditional UPDATE. 0 rows = a newer holder wrote. */
function fencedWrite(fence, balance) {
  const r = db
    .prepare('UPDATE accounts SET balance = ?, fence = ? WHERE id = 1 AND fence <= ?')
    .run(BigInt(balance), fence.token, fence.token);
  if (r.changes === 0) {
    throw new LockLostError(`stale fencing token ${fence.token} for ${fence.lock}`);
  }
}

function account() {
  return db.prepare('SELECT balance, fence FROM accounts WHERE id = 1').get();
}

describe('fenced writes to SQLite', () => {
  it('rejects the stale holder after a force-release handed the lock on', async () => {
    const name = uniqueName('accounts/1');
    const zombie = await Client.connect(cluster.endpoints, { ttlMs: 3_000, label: 'zombie' });
    const fresh = await Client.connect(cluster.endpoints, { ttlMs: 3_000, label: 'fresh' });
    const admin = Client.connectLazy(cluster.endpoints);
    try {
      const old = await zombie.lock(name, { timeout: 5_000 });
      fencedWrite(old.fence, 150);
      assert.deepEqual(account(), { balance: 150n, fence: old.fencingToken });

      // The holder stalls; a second worker queues; an operator force-releases
      // the stuck grant (compare-and-swap on its owner id).
      const waiting = fresh.lock(name, { timeout: 20_000 });
      await eventually('the waiter to queue', async () => (await admin.describe(name))?.waiters.length === 1);
      await admin.forceRelease(name, old.ownerId, 'holder stalled');
      const current = await within(10_000, waiting, 'the waiting acquire');
      assert.ok(current.fencingToken > old.fencingToken);
      fencedWrite(current.fence, 300);

      // The zombie wakes up and writes with its old fence, whether or not it
      // has noticed the loss yet: the database refuses it.
      assert.throws(() => fencedWrite(old.fence, 999), (e) => {
        assert.ok(e instanceof LockLostError);
        assert.equal(e.code, 'LOCK_LOST');
        return true;
      });
      assert.deepEqual(account(), { balance: 300n, fence: current.fencingToken });
      // The current holder keeps writing.
      fencedWrite(current.fence, 310);
      assert.equal(account().balance, 310n);
      // And the zombie's client does learn it lost the lock.
      assert.equal(await within(10_000, old.lost, 'old.lost'), 'force_released');
      await current.release();
    } finally {
      await zombie.close().catch(() => {});
      await fresh.close();
      await admin.close();
    }
  });

  it('rejects the stale holder after its session was blacklisted and expired', async () => {
    const name = uniqueName('accounts/1');
    const zombie = await Client.connect(cluster.endpoints, { ttlMs: 2_000 });
    const fresh = await Client.connect(cluster.endpoints, { ttlMs: 3_000 });
    const admin = Client.connectLazy(cluster.endpoints);
    try {
      const old = await zombie.lock(name, { timeout: 5_000 });
      fencedWrite(old.fence, 500);
      await admin.blacklist(old.sessionId, 'zombie');
      assert.equal(await within(10_000, old.lost, 'old.lost'), 'session_blacklisted');
      const current = await fresh.lock(name, { timeout: 15_000 });
      fencedWrite(current.fence, 600);
      assert.throws(() => fencedWrite(old.fence, 1), LockLostError);
      assert.equal(account().balance, 600n);
      await current.release();
    } finally {
      await zombie.close().catch(() => {});
      await fresh.close();
      await admin.close();
    }
  });
});
