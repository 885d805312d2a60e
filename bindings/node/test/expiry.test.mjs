// Client-side expiry (G3) through the binding: when every server is gone, the
// session goes to jeopardy, then expires at its local expiry, and its locks are
// lost without any word from the server. This file stops its own cluster.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Client, UnavailableError } from 'tenure';
import { eventually, startCluster, uniqueName, within } from './cluster.mjs';

let cluster;

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
});

describe('losing the cluster', () => {
  it('goes to jeopardy, then expires locally and loses the lock', async () => {
    const client = await Client.connect(cluster.endpoints, {
      ttlMs: 2_000,
      callTimeoutMs: 1_000,
      attemptTimeoutMs: 300,
    });
    try {
      const states = [];
      const sub = client.onSessionState((s) => states.push(s));
      const lock = await client.lock(uniqueName('expiry'), { timeout: 1_000 });
      const lostByCallback = new Promise((resolve) => lock.onLost(resolve));
      assert.equal(lock.isHeld(), true);

      await cluster.stop(); // every server gone: no renewal can succeed

      assert.equal(await within(10_000, lock.lost, 'lock.lost'), 'session_expired');
      assert.equal(await within(5_000, lostByCallback, 'onLost'), 'session_expired');
      assert.equal(lock.isHeld(), false);
      assert.equal(lock.remaining(), 0);
      assert.equal(client.sessionState, 'expired');
      await eventually('the state callbacks', () => states.includes('jeopardy') && states.includes('expired'));
      assert.ok(states.indexOf('jeopardy') < states.lastIndexOf('expired'), `states ${states}`);
      sub.cancel();

      // New work needs a new session, which cannot be opened now.
      await assert.rejects(client.tryLock(uniqueName('expiry')), UnavailableError);
    } finally {
      await client.close().catch(() => {});
    }
  });
});
