// Watches and elections against a real cluster: how a watch ends (close(),
// break, a throw in the loop, disposal), resuming by revision, setValue, and
// the election's campaign, tryCampaign, leader and observer. The shared
// scenarios watch_prefix and election are in scenarios.test.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  CancelledError,
  Client,
  Election,
  InvalidArgumentError,
  LockHeldError,
  LockLostError,
  Observer,
  TenureTimeoutError,
  Watcher,
  asyncDispose,
} from 'tenure';
import { clientsFixture, eventually, startCluster, uniqueName, within } from './cluster.mjs';

const f = clientsFixture(startCluster, Client, { a: 'node-watch-a', b: 'node-watch-b' });
before(f.start);
after(f.stop);

describe('watch', () => {
  it('starts with a reset, then reports each change; revision follows the batches', async () => {
    const prefix = uniqueName('watch/feed') + '/';
    const watcher = f.a.watch(prefix);
    assert.ok(watcher instanceof Watcher);
    assert.equal(watcher.prefix, prefix);
    assert.equal(watcher.revision, 0);
    const reset = await within(10_000, watcher.next(), 'the reset');
    assert.equal(reset.reset, true);
    assert.deepEqual(reset.locks, []);
    assert.equal(watcher.revision, reset.revision);
    const lock = await f.b.tryLock(`${prefix}x`, { value: 'v1' });
    const granted = await within(10_000, watcher.next(), 'the grant');
    assert.deepEqual(granted.events.map((e) => [e.change, e.name, e.value, e.token]), [
      ['granted', `${prefix}x`, 'v1', lock.fencingToken],
    ]);
    assert.equal(granted.events[0].ownerId, lock.ownerId);
    assert.equal(granted.events[0].mode, 'exclusive');
    assert.equal(typeof granted.events[0].atMs, 'number');
    assert.equal(watcher.revision, granted.revision);
    await lock.release();
    const released = await within(10_000, watcher.next(), 'the release');
    assert.deepEqual(released.events.map((e) => e.change), ['released']);
    watcher.close();
    assert.equal(watcher.revision, released.revision, 'the revision stays readable after close()');
  });

  it('resumes from a revision, given as a number or a bigint', async () => {
    const prefix = uniqueName('watch/resume') + '/';
    const first = f.a.watch(prefix);
    const start = (await first.next()).revision;
    first.close();
    const lock = await f.b.tryLock(`${prefix}x`);
    await lock.release();
    for (const startRevision of [start, BigInt(start)]) {
      const resumed = f.a.watch(prefix, { startRevision });
      const changes = [];
      while (changes.length < 2) {
        const batch = await within(10_000, resumed.next(), 'the replay');
        assert.equal(batch.reset, false);
        changes.push(...batch.events.map((e) => e.change));
      }
      assert.deepEqual(changes, ['granted', 'released']);
      resumed.close();
    }
  });

  it('close() rejects a pending next() with CancelledError, and every later one', async () => {
    const watcher = f.a.watch(uniqueName('watch/close'));
    await watcher.next();
    const pending = watcher.next();
    watcher.close();
    await assert.rejects(within(5_000, pending, 'the pending next'), CancelledError);
    await assert.rejects(watcher.next(), CancelledError);
    watcher.close(); // idempotent
  });

  it('close() ends a waiting for-await loop cleanly', async () => {
    const watcher = f.a.watch(uniqueName('watch/loop'));
    let batches = 0;
    const loop = (async () => {
      for await (const batch of watcher) {
        assert.ok(batch.revision >= 0);
        batches += 1;
      }
      return 'ended';
    })();
    await eventually('the first batch', () => batches === 1);
    watcher.close();
    assert.equal(await within(5_000, loop, 'the loop'), 'ended');
    assert.equal(batches, 1);
  });

  it('break (and a throw) in for-await closes the watcher', async () => {
    const watcher = f.a.watch(uniqueName('watch/break'));
    for await (const batch of watcher) {
      assert.equal(batch.reset, true);
      break;
    }
    await assert.rejects(watcher.next(), CancelledError);
    const thrown = f.a.watch(uniqueName('watch/throw'));
    await assert.rejects(
      (async () => {
        for await (const batch of thrown) throw new Error(`stop at ${batch.revision}`);
      })(),
      /stop at/,
    );
    await assert.rejects(thrown.next(), CancelledError);
  });

  it('disposal closes it (await using)', async () => {
    const watcher = f.a.watch(uniqueName('watch/dispose'));
    await watcher.next();
    await watcher[asyncDispose]();
    await assert.rejects(watcher.next(), CancelledError);
  });

  it('rejects a bad prefix or start revision at once', () => {
    assert.throws(() => f.a.watch('a\u0007b'), InvalidArgumentError);
    assert.throws(() => f.a.watch('x'.repeat(257)), InvalidArgumentError);
    assert.throws(() => f.a.watch('x/', { startRevision: -1 }), InvalidArgumentError);
    assert.throws(() => f.a.watch('x/', { startRevision: 1.5 }), InvalidArgumentError);
    assert.throws(() => f.a.watch(7), InvalidArgumentError);
  });
});

describe('lock.setValue', () => {
  it('replaces the value describe shows, and fails once the lock is released', async () => {
    const name = uniqueName('value');
    const lock = await f.a.tryLock(name, { value: 'old' });
    await lock.setValue('new\tvalue');
    assert.equal((await f.b.describe(name)).holders[0].value, 'new\tvalue');
    await assert.rejects(lock.setValue('two\nlines'), InvalidArgumentError);
    await lock.release();
    await assert.rejects(lock.setValue('late'), LockLostError);
  });
});

describe('election', () => {
  it('campaigns, proclaims, resigns; tryCampaign and leader() follow', async () => {
    const name = uniqueName('elect');
    const mine = f.a.election(name);
    assert.ok(mine instanceof Election);
    assert.equal(mine.name, name);
    assert.equal(await mine.leader(), null);
    const leading = await mine.tryCampaign('a:1');
    assert.equal(leading.name, name);
    assert.ok(leading.isHeld());
    await assert.rejects(f.b.election(name).tryCampaign('b:1'), LockHeldError);
    await assert.rejects(f.b.election(name).campaign('b:1', { timeout: 200 }), TenureTimeoutError);
    const leader = await f.b.election(name).leader();
    assert.deepEqual(
      [leader.name, leader.value, leader.token, leader.ownerId, leader.sessionId],
      [name, 'a:1', leading.fencingToken, leading.ownerId, leading.sessionId],
    );
    await leading.setValue('a:2');
    assert.equal((await f.b.election(name).leader()).value, 'a:2');
    await leading.release();
    assert.equal(await mine.leader(), null);
  });

  it('a campaign needs a timeout, and an AbortSignal withdraws it', async () => {
    const name = uniqueName('elect/abort');
    const election = f.b.election(name);
    await assert.rejects(election.campaign('b'), InvalidArgumentError);
    const leading = await f.a.election(name).tryCampaign('a');
    const controller = new AbortController();
    const waiting = election.campaign('b', { timeout: 30_000, signal: controller.signal });
    await eventually('b queued', async () => (await f.a.describe(name))?.waiters.length === 1);
    controller.abort(new Error('shutting down'));
    const err = await waiting.catch((e) => e);
    assert.ok(err instanceof CancelledError, String(err));
    assert.equal(err.cause.message, 'shutting down');
    await eventually('campaign withdrawn', async () => (await f.a.describe(name))?.waiters.length === 0);
    await leading.release();
  });

  it('observe(): for-await sees each leader and null when it goes away; break closes it', async () => {
    const name = uniqueName('elect/observe');
    const observer = f.b.election(name).observe();
    assert.ok(observer instanceof Observer);
    const seen = [];
    const leading = await f.a.election(name).tryCampaign('first');
    for await (const leader of observer) {
      seen.push(leader?.value ?? null);
      if (seen.length === 1) await leading.release();
      if (seen.length === 2) break;
    }
    assert.deepEqual(seen, ['first', null]);
    await assert.rejects(observer.next(), CancelledError);
  });

  it('observer.close() ends a pending next()', async () => {
    const observer = f.b.election(uniqueName('elect/close')).observe();
    assert.equal(await observer.next(), null, 'nobody leads');
    const pending = observer.next();
    observer.close();
    await assert.rejects(within(5_000, pending, 'the pending next'), CancelledError);
  });

  it('rejects a bad name at once', () => {
    assert.throws(() => f.a.election(''), InvalidArgumentError);
    assert.throws(() => f.a.election('a\u0007b'), InvalidArgumentError);
  });
});
