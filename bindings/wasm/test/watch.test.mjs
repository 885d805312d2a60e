// Watches and elections through the wasm client in Node: the watch is a
// server-streaming gRPC-web call read from fetch as it arrives (reset, each
// change in revision order, a resume from a revision, break and close() end
// it, a process with a closed watch exits), and an election (campaign,
// proclaim with setValue, resign, an observer that sees the leader go away).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CancelledError, Client, InvalidArgumentError, LockHeldError, LockLostError } from '../index.js';
import { clientsFixture, eventually, startCluster, uniqueName, within } from './cluster.mjs';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'watch-exit.mjs');
const f = clientsFixture(startCluster, Client, { a: 'wasm-watch-a', b: 'wasm-watch-b' });
before(f.start);
after(f.stop);

/** The changes of `watcher`'s batches until `count` are seen (no reset among them). */
async function changes(watcher, count) {
  const seen = [];
  for await (const batch of watcher) {
    assert.equal(batch.reset, false, 'an unexpected reset');
    seen.push(...batch.events);
    if (seen.length >= count) break;
  }
  return seen;
}

describe('watch over gRPC-web', () => {
  it('streams the state, then every change in revision order; resumes from a revision', async () => {
    const prefix = `${uniqueName('wasm/watch')}/`;
    const held = await f.a.tryLock(`${prefix}a`, { value: 'a1' });
    const watcher = f.b.watch(prefix);
    assert.equal(watcher.prefix, prefix);
    const reset = await within(10_000, watcher.next(), 'the reset');
    assert.equal(reset.reset, true);
    assert.deepEqual(reset.locks.map((l) => [l.name, l.holders[0].value, l.holders[0].token]), [
      [`${prefix}a`, 'a1', held.fencingToken],
    ]);
    assert.equal(watcher.revision, reset.revision);
    await held.setValue('a2');
    const waiting = f.b.lock(`${prefix}a`, { timeout: 20_000 });
    await eventually('b queued', async () => (await f.a.describe(`${prefix}a`))?.waiters.length === 1);
    await held.release();
    const next = await waiting;
    // break closes the watcher.
    const seen = await within(10_000, changes(watcher, 4), 'the changes');
    await assert.rejects(watcher.next(), CancelledError);
    assert.deepEqual(seen.map((e) => e.change), ['value_changed', 'waiter_added', 'released', 'granted']);
    assert.equal(seen[0].value, 'a2');
    assert.deepEqual([seen[3].token, seen[3].sessionId], [next.fencingToken, next.sessionId]);
    assert.ok(seen.every((e, i) => i === 0 || e.revision > seen[i - 1].revision), 'revisions increase');
    const resumed = f.a.watch(prefix, { startRevision: seen[1].revision });
    assert.deepEqual((await within(10_000, changes(resumed, 2), 'the replay')).map((e) => e.change), ['released', 'granted']);
    await next.release();
    await assert.rejects(next.setValue('late'), LockLostError);
  });

  it('close() ends a pending next() and a waiting for-await loop', async () => {
    const watcher = f.a.watch(uniqueName('wasm/close'));
    let batches = 0;
    const loop = (async () => {
      for await (const batch of watcher) batches += batch.reset ? 1 : 0;
      return 'ended';
    })();
    await eventually('the reset', () => batches === 1);
    const pending = watcher.next();
    watcher.close();
    await assert.rejects(within(5_000, pending, 'the pending next'), CancelledError);
    assert.equal(await within(5_000, loop, 'the loop'), 'ended');
  });

  it('a process whose watch and observer are closed with a next() pending exits on its own', async () => {
    const child = spawn(process.execPath, [script, f.cluster.endpoints, uniqueName('wasm/exit')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = await new Promise((resolve) => child.once('exit', (...r) => resolve(r)));
    clearTimeout(timer);
    assert.equal(signal, null, `the process did not exit on its own:\n${out}`);
    assert.equal(code, 0, out);
    assert.match(out, /^closed: CANCELLED CANCELLED$/m);
  });

  it('rejects a bad prefix or revision at once', () => {
    assert.throws(() => f.a.watch('a\u0007b'), InvalidArgumentError);
    assert.throws(() => f.a.watch(7), InvalidArgumentError);
    assert.throws(() => f.a.watch('x/', { startRevision: -1 }), InvalidArgumentError);
  });
});

describe('election over gRPC-web', () => {
  it('campaign, proclaim, resign: the observer sees each leader, and null when it goes away', async () => {
    const name = uniqueName('wasm/leader');
    const observer = f.b.election(name).observe();
    assert.equal(await within(10_000, observer.next(), 'the first answer'), null, 'nobody leads yet');
    const leading = await f.a.election(name).campaign('n1', { timeout: 5_000 });
    assert.deepEqual(await observer.next(), {
      name,
      sessionId: leading.sessionId,
      token: leading.fencingToken,
      ownerId: leading.ownerId,
      value: 'n1',
    });
    await assert.rejects(f.b.election(name).tryCampaign('n2'), LockHeldError);
    const controller = new AbortController();
    const waiting = f.b.election(name).campaign('n2', { timeout: 20_000, signal: controller.signal });
    await eventually('b campaigns', async () => (await f.a.describe(name))?.waiters.length === 1);
    await leading.setValue('n1b');
    assert.equal((await observer.next()).value, 'n1b');
    assert.equal((await f.b.election(name).leader()).value, 'n1b');
    controller.abort();
    await assert.rejects(waiting, CancelledError);
    await leading.release();
    assert.equal(await observer.next(), null, 'the leader resigned');
    assert.equal(await f.a.election(name).leader(), null);
    const second = await f.b.election(name).tryCampaign('n2');
    const seen = [];
    for await (const leader of observer) {
      seen.push(leader && [leader.value, leader.token > leading.fencingToken]);
      if (seen.length === 1) await f.b.close();
      else break;
    }
    assert.deepEqual(seen, [['n2', true], null]);
    assert.equal(second.lostReason, 'client_closed');
    await assert.rejects(observer.next(), CancelledError);
    await assert.rejects(f.a.election(name).campaign('n3'), InvalidArgumentError);
  });
});
