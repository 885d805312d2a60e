// The shared scenario list (tests/scenarios.toml), run by the Node binding
// against real `tenure server` processes (tenure-testkit). A scenario of the
// file without an implementation here fails.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import {
  AlreadyHeldError,
  CancelledError,
  Client,
  Fence,
  FenceValidator,
  InvalidArgumentError,
  LockHeldError,
  LockLostError,
  LostReason,
  NotHolderError,
  SessionState,
  TenureTimeoutError,
  asyncDispose,
} from 'tenure';
import { eventually, repoRoot, tenureBin, within } from './cluster.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const holderScript = path.join(here, 'fixtures', 'scenario-holder.mjs');
const listed = [...fs.readFileSync(path.join(repoRoot, 'tests', 'scenarios.toml'), 'utf8')
  .matchAll(/^id = "([a-z0-9_]+)"$/gm)].map((m) => m[1]);

/** A tenure-testkit process: a cluster of real server processes. */
class Kit {
  static async start() {
    const kit = new Kit();
    kit.child = spawn(process.env.TENURE_TESTKIT || path.join(path.dirname(tenureBin), 'tenure-testkit'), [], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    kit.lines = readline.createInterface({ input: kit.child.stdout })[Symbol.asyncIterator]();
    kit.endpoints = (await kit.answer()).endpoints;
    return kit;
  }

  async answer() {
    const { value, done } = await this.lines.next();
    if (done) throw new Error('tenure-testkit exited');
    const answer = JSON.parse(value);
    if (answer.error) throw new Error(answer.error);
    return answer;
  }

  send(command) {
    this.child.stdin.write(`${command}\n`);
    return this.answer();
  }

  async stop() {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    await exited;
  }
}

const clients = [];
async function connect(kit, options = {}) {
  const c = await Client.connect(kit.endpoints, { ttlMs: 5_000, ...options });
  clients.push(c);
  return c;
}
const admin = (kit) => Client.connectLazy(kit.endpoints);
async function waiters(kit, name) {
  return (await admin(kit).describe(name))?.waiters.length ?? 0;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs the holder fixture; resolves with { code, stdout, stderr } (or the child with `live`). */
function holder(args, { env = {}, live = false } = {}) {
  const child = spawn(process.execPath, [holderScript, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (live) return child;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

const scenarios = {
  async acquire_release_rising_tokens(kit) {
    const c = await connect(kit);
    let last = 0n;
    for (let i = 0; i < 3; i++) {
      const lock = await c.tryLock('js/rising');
      assert.ok(lock.fencingToken > last);
      last = lock.fencingToken;
      await lock.release();
      assert.equal(lock.isHeld(), false);
      assert.equal(await c.describe('js/rising'), null);
    }
  },

  async fifo_handover_three_waiters(kit) {
    const first = await (await connect(kit)).tryLock('js/fifo');
    const pending = [];
    for (let i = 0; i < 3; i++) {
      pending.push((await connect(kit)).lock('js/fifo', { timeout: 30_000 }));
      await eventually('waiter queued', async () => (await waiters(kit, 'js/fifo')) === i + 1);
    }
    let token = first.fencingToken;
    await first.release();
    for (const p of pending) {
      const lock = await p;
      assert.ok(lock.fencingToken > token, 'FIFO order or token broken');
      token = lock.fencingToken;
      await lock.release();
    }
  },

  async wait_timeout(kit) {
    const held = await (await connect(kit)).tryLock('js/timeout');
    const b = await connect(kit);
    await assert.rejects(b.lock('js/timeout', { timeout: 300 }), TenureTimeoutError);
    assert.equal(await waiters(kit, 'js/timeout'), 0);
    await held.release();
  },

  async try_lock(kit) {
    const held = await (await connect(kit)).tryLock('js/try');
    const b = await connect(kit);
    await assert.rejects(b.tryLock('js/try'), LockHeldError);
    await held.release();
    await (await b.tryLock('js/try')).release();
  },

  async already_held(kit) {
    const a = await connect(kit);
    const b = await connect(kit);
    const held = await a.tryLock('js/again');
    await assert.rejects(a.tryLock('js/again'), AlreadyHeldError);
    // Queued behind its own grant it would end with a timeout, not ALREADY_HELD.
    await assert.rejects(a.lock('js/again', { timeout: 10_000 }), AlreadyHeldError);
    assert.equal(await waiters(kit, 'js/again'), 0);
    const waiting = b.lock('js/again', { timeout: 20_000 });
    await eventually('b queued', async () => (await waiters(kit, 'js/again')) === 1);
    const first = held.fencingToken;
    await held.release();
    const theirs = await waiting;
    assert.ok(theirs.fencingToken > first);
    await theirs.release();
    const again = await a.tryLock('js/again');
    assert.ok(again.fencingToken > theirs.fencingToken);
    await again.release();
  },

  async lock_value(kit) {
    const a = await connect(kit);
    const b = await connect(kit);
    const held = await a.tryLock('js/valued', { value: 'a at 10.0.0.1:80' });
    const waiting = b.lock('js/valued', { timeout: 20_000, value: 'b\twaits' });
    await eventually('b queued', async () => (await waiters(kit, 'js/valued')) === 1);
    const info = await admin(kit).describe('js/valued');
    assert.deepEqual(info.holders.map((h) => h.value), ['a at 10.0.0.1:80']);
    assert.deepEqual(info.waiters.map((w) => w.value), ['b\twaits']);
    assert.equal((await admin(kit).listLocks('js/valued'))[0].holders[0].value, 'a at 10.0.0.1:80');
    await held.release();
    const theirs = await waiting;
    assert.equal((await admin(kit).describe('js/valued')).holders[0].value, 'b\twaits');
    await theirs.release();
    for (const bad of ['v'.repeat(1025), 'two\nlines']) {
      await assert.rejects(a.tryLock('js/valued', { value: bad }), InvalidArgumentError);
    }
    assert.equal(await admin(kit).describe('js/valued'), null);
  },

  async semaphore(kit) {
    const [a, b, c, d] = await Promise.all([0, 1, 2, 3].map(() => connect(kit)));
    const one = await a.semaphore('js/sem', 2).tryAcquire();
    const two = await b.semaphore('js/sem', 2).tryAcquire();
    assert.ok(two.fencingToken > one.fencingToken);
    assert.notEqual(two.ownerId, one.ownerId);
    await assert.rejects(c.semaphore('js/sem', 2).tryAcquire(), LockHeldError);
    await assert.rejects(c.semaphore('js/sem', 3).tryAcquire(), InvalidArgumentError);
    await assert.rejects(c.tryLock('js/sem'), InvalidArgumentError);
    const waiting = c.semaphore('js/sem', 2).acquire({ timeout: 20_000 });
    await eventually('third queued', async () => (await waiters(kit, 'js/sem')) === 1);
    await one.release();
    const three = await waiting;
    assert.ok(three.fencingToken > two.fencingToken);
    await b.close();
    const four = await d.semaphore('js/sem', 2).tryAcquire();
    const info = await admin(kit).describe('js/sem');
    assert.equal(info.permitLimit, 2);
    assert.equal(info.holders.reduce((n, h) => n + h.permits, 0), 2);
    await three.release();
    await four.release();
  },

  async revoke_request(kit) {
    const holding = await connect(kit, { ttlMs: 3_000 });
    const other = await connect(kit, { ttlMs: 3_000 });
    const lock = await holding.tryLock('js/revoke');
    let calls = 0;
    lock.onRevokeRequested(() => { calls += 1; });
    assert.equal(lock.revokeRequested, false);
    const nobody = await other.requestRelease('js/revoke', { ownerId: '7'.padStart(32, '0'), reason: 'not it' });
    assert.deepEqual(nobody, []);
    const asked = await other.requestRelease('js/revoke', { reason: 'deploy' });
    assert.deepEqual(asked.map((g) => [g.ownerId, g.token]), [[lock.ownerId, lock.fencingToken]]);
    assert.equal(await within(10_000, lock.waitRevokeRequested(), 'the request'), true);
    assert.equal(lock.revokeRequested, true);
    await eventually('the callback', () => calls > 0);
    // Every renewal repeats the request until the grant ends: over two more
    // keepalive intervals the callback still ran only once.
    await sleep(2_500);
    assert.equal(calls, 1, 'callback ran twice');
    assert.equal((await other.describe('js/revoke')).holders[0].releaseRequested, true);
    // Still held: the holder decides.
    assert.ok(lock.isHeld());
    await assert.rejects(other.tryLock('js/revoke'), LockHeldError);
    const waiting = other.lock('js/revoke', { timeout: 20_000 });
    await eventually('waiter queued', async () => (await waiters(kit, 'js/revoke')) === 1);
    await lock.release();
    const next = await waiting;
    assert.ok(next.fencingToken > lock.fencingToken);
    assert.equal(next.revokeRequested, false);
    assert.equal((await holding.describe('js/revoke')).holders[0].releaseRequested, false);
    await next.release();
  },

  async watch_prefix(kit) {
    const a = await connect(kit);
    const b = await connect(kit);
    const first = await a.tryLock('js/w/a', { value: 'a1' });
    const watcher = a.watch('js/w/');
    const reset = await watcher.next();
    assert.ok(reset.reset);
    assert.deepEqual(reset.events, []);
    assert.deepEqual(reset.locks.map((l) => [l.name, l.holders[0].value]), [['js/w/a', 'a1']]);
    const waiting = b.lock('js/w/a', { timeout: 20_000 });
    const added = await watcher.next();
    assert.deepEqual(added.events.map((e) => e.change), ['waiter_added']);
    const resumeAt = added.revision;
    assert.ok(resumeAt > reset.revision);
    // Not under the prefix: not reported.
    const other = await a.tryLock('js/x/other');
    await first.release();
    const second = await waiting;
    await second.setValue('b2');
    const seen = [];
    let last = resumeAt;
    for await (const batch of watcher) {
      assert.equal(batch.reset, false);
      for (const e of batch.events) {
        assert.ok(e.revision > last, 'revisions must increase');
        last = e.revision;
        assert.equal(e.name, 'js/w/a');
        seen.push(e);
      }
      if (seen.length >= 3) break;
    }
    assert.deepEqual(seen.map((e) => e.change), ['released', 'granted', 'value_changed']);
    assert.equal(seen[0].token, first.fencingToken);
    assert.equal(seen[1].token, second.fencingToken);
    assert.ok(seen[1].requestId > 0);
    assert.equal(seen[1].sessionId, second.sessionId);
    assert.equal(seen[2].value, 'b2');
    // A second watcher resumes after the waiter_added batch: no reset.
    const resumed = b.watch('js/w/', { startRevision: resumeAt });
    const again = [];
    while (again.length < 3) {
      const batch = await resumed.next();
      assert.equal(batch.reset, false, 'resumed with a reset');
      again.push(...batch.events.map((e) => e.change));
    }
    assert.deepEqual(again, ['released', 'granted', 'value_changed']);
    resumed.close();
    await other.release();
    await second.release();
  },

  async election(kit) {
    const a = await connect(kit, { ttlMs: 3_000 });
    const b = await connect(kit, { ttlMs: 3_000 });
    const watching = await connect(kit, { ttlMs: 3_000 });
    const leading = await a.election('js/e/leader').campaign('n1', { timeout: 5_000 });
    const observer = watching.election('js/e/leader').observe();
    let seen = await observer.next();
    assert.deepEqual([seen.value, seen.token], ['n1', leading.fencingToken]);
    const waiting = b.election('js/e/leader').campaign('n2', { timeout: 20_000 });
    await eventually('b waits', async () => (await waiters(kit, 'js/e/leader')) === 1);
    await leading.setValue('n1b');
    seen = await observer.next();
    assert.deepEqual([seen.value, seen.token], ['n1b', leading.fencingToken]);
    await leading.release();
    assert.equal(await observer.next(), null, 'the leader going away');
    const second = await waiting;
    seen = await observer.next();
    assert.equal(seen.value, 'n2');
    assert.equal(seen.token, second.fencingToken);
    assert.ok(seen.token > leading.fencingToken);
    await b.close();
    assert.equal(await observer.next(), null, 'the closed leader going away');
    assert.equal(await watching.election('js/e/leader').leader(), null);
    observer.close();
  },

  async acquire_all(kit) {
    const a = await connect(kit);
    const b = await connect(kit);
    const both = await a.tryAcquireAll(['js/m/a', 'js/m/b']);
    assert.deepEqual(both.map((l) => l.name), ['js/m/a', 'js/m/b']);
    assert.notEqual(both[0].ownerId, both[1].ownerId);
    assert.ok(both[1].fencingToken > both[0].fencingToken);
    for (const lock of both) await lock.release();
    const held = await b.tryLock('js/m/b');
    await assert.rejects(a.acquireAll(['js/m/c', 'js/m/b']), (e) => e instanceof LockHeldError && e.message.includes('js/m/b'));
    assert.equal(await a.describe('js/m/c'), null, 'js/m/c stays free');
    const waiting = a.acquireAll(['js/m/c', 'js/m/b'], { timeout: 20_000 });
    await sleep(300);
    await held.release();
    const got = await waiting;
    assert.deepEqual(got.map((l) => l.name), ['js/m/c', 'js/m/b']);
    assert.ok(got[1].fencingToken > held.fencingToken);
    await assert.rejects(a.tryAcquireAll(['js/m/d', 'js/m/d']), InvalidArgumentError);
    for (const lock of got) await lock.release();
  },

  async cancel_withdraws(kit) {
    const held = await (await connect(kit)).tryLock('js/cancel');
    const controller = new AbortController();
    const waiting = (await connect(kit)).lock('js/cancel', { timeout: 30_000, signal: controller.signal });
    await eventually('waiter queued', async () => (await waiters(kit, 'js/cancel')) === 1);
    controller.abort();
    await assert.rejects(waiting, CancelledError);
    await eventually('waiter withdrawn', async () => (await waiters(kit, 'js/cancel')) === 0);
    await held.release();
  },

  async shared_mode(kit) {
    const one = await (await connect(kit)).tryLock('js/shared', { shared: true });
    const two = await (await connect(kit)).tryLock('js/shared', { shared: true });
    assert.ok(one.isHeld() && two.isHeld());
    const c = await connect(kit);
    await assert.rejects(c.tryLock('js/shared'), LockHeldError);
    await one.release();
    await assert.rejects(c.tryLock('js/shared'), LockHeldError);
    await two.release();
    await (await c.tryLock('js/shared')).release();
  },

  async lost_after_blacklist(kit) {
    const lock = await (await connect(kit, { ttlMs: 3_000 })).tryLock('js/blacklist');
    await admin(kit).blacklist(lock.sessionId, 'scenario');
    assert.equal(await lock.lost, LostReason.SESSION_BLACKLISTED);
    assert.equal(lock.isHeld(), false);
  },

  async lost_after_sigstop(kit) {
    const child = holder(['pause', kit.endpoints, 'js/pause'], { live: true });
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const stale = BigInt((await lines.next()).value.split(' ')[1]);
    process.kill(child.pid, 'SIGSTOP');
    const storage = new FenceValidator();
    let lock;
    try {
      lock = await (await connect(kit)).lock('js/pause', { timeout: 20_000 });
      assert.ok(lock.fencingToken > stale);
      storage.check(lock.fence);
    } finally {
      process.kill(child.pid, 'SIGCONT');
    }
    const resumed = Date.now();
    assert.equal((await lines.next()).value, 'lost session_expired');
    assert.ok(Date.now() - resumed < 1_000, 'isHeld() stayed true after the resume');
    assert.throws(() => storage.check(new Fence('js/pause', stale)), LockLostError);
    await lock.release();
  },

  async jeopardy_then_expired(kit) {
    const c = await connect(kit, { ttlMs: 2_000 });
    const lock = await c.tryLock('js/jeopardy');
    const seen = [];
    const sub = c.onSessionState((s) => seen.push(s));
    await kit.send('pause-all');
    try {
      await eventually('expired', () => seen.includes(SessionState.EXPIRED), { timeoutMs: 10_000 });
    } finally {
      await kit.send('resume-all');
      sub.cancel();
    }
    assert.deepEqual(seen.slice(0, 2), [SessionState.JEOPARDY, SessionState.EXPIRED]);
    assert.equal(lock.lostReason, LostReason.SESSION_EXPIRED);
  },

  async force_release(kit) {
    const old = await (await connect(kit)).tryLock('js/force');
    const waiting = (await connect(kit)).lock('js/force', { timeout: 30_000 });
    await eventually('waiter queued', async () => (await waiters(kit, 'js/force')) === 1);
    const boss = admin(kit);
    assert.equal((await boss.forceRelease('js/force', old.ownerId, 'scenario')).length, 1);
    const next = await waiting;
    assert.ok(next.fencingToken > old.fencingToken);
    assert.equal(await old.lost, LostReason.FORCE_RELEASED);
    await assert.rejects(boss.forceRelease('js/force', old.ownerId, 'again'), NotHolderError);
    await next.release();
  },

  async leader_killed_lock_held(kit) {
    const c = await connect(kit, { ttlMs: 3_000 });
    const lock = await c.tryLock('js/failover');
    const session = await c.sessionId();
    await kit.send('kill-leader');
    await sleep(6_000); // two TTLs across the failover
    assert.ok(lock.isHeld(), `lost: ${lock.lostReason}`);
    assert.equal(await c.sessionId(), session);
    assert.equal(c.sessionState, SessionState.HEALTHY);
    await lock.release();
  },

  async retried_request_applies_once(kit) {
    const { proxy } = await kit.send('proxy');
    const c = await Client.connect(proxy, { ttlMs: 5_000, attemptTimeoutMs: 1_000 });
    clients.push(c);
    const before = (await admin(kit).status()).nextToken;
    await kit.send('cut-next-reply');
    const lock = await c.tryLock('js/retry');
    assert.equal((await kit.send('cuts')).cuts, 1);
    assert.equal((await admin(kit).status()).nextToken, before + 1n);
    const info = await admin(kit).describe('js/retry');
    assert.deepEqual(info.holders.map((h) => h.ownerId), [lock.ownerId]);
    await lock.release();
  },

  async bad_input(kit) {
    const c = await connect(kit);
    const kept = await c.tryLock('js/bad/kept');
    const before = await admin(kit).listLocks();
    for (const name of ['', 'x'.repeat(257), 'a\u0007b']) {
      await assert.rejects(c.tryLock(name), InvalidArgumentError, JSON.stringify(name));
    }
    await assert.rejects(c.lock('js/bad', { timeout: -1 }), InvalidArgumentError);
    assert.throws(() => Fence.parse('no-token'), InvalidArgumentError);
    assert.throws(() => new Fence('', 1n), InvalidArgumentError);
    assert.deepEqual(await admin(kit).listLocks(), before);
    await kept.release();
  },

  async scope_exit_after_loss(kit) {
    const c = await connect(kit);
    const boss = admin(kit);
    const lock = await c.tryLock('js/scope');
    await boss.forceRelease('js/scope', lock.ownerId, 'scenario');
    await lock.lost;
    // What `await using lock = ...` calls when the block ends.
    await assert.rejects(lock[asyncDispose](), LockLostError);
    const err = await c
      .withLock('js/scope', async (l, signal) => {
        await boss.forceRelease('js/scope', l.ownerId, 'scenario');
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      }, { timeout: 5_000 })
      .catch((e) => e);
    assert.ok(err instanceof LockLostError, String(err));
    assert.equal(await c.withLock('js/scope', () => 7, { timeout: 5_000 }), 7);
    const kept = await c.tryLock('js/scope');
    await kept[asyncDispose]();
  },

  async release_on_drop(kit) {
    // A lock dropped without release in a process run with --expose-gc; its
    // client stays open, so only the collected lock's release can free it.
    const script = path.join(here, 'fixtures', 'gc-script.mjs');
    const child = spawn(process.execPath, ['--expose-gc', script, kit.endpoints, 'js/drop'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    assert.match((await lines.next()).value, /^token /);
    try {
      await (await (await connect(kit)).lock('js/drop', { timeout: 10_000 })).release();
    } finally {
      child.stdin.end();
    }
  },

  async clean_exit_with_open_clients(kit) {
    const out = await holder(['exit', kit.endpoints, 'js/exit']);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), 'acquired');
    // Free once the exited holder's session is closed or has expired (ttl 3 s).
    await (await (await connect(kit)).lock('js/exit', { timeout: 10_000 })).release();
  },

  async env_configuration(kit) {
    const env = { TENURE_ENDPOINTS: kit.endpoints };
    const ok = await holder(['env', '-', 'js/env'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    const optedOut = await holder(['env', '-', 'js/env', 'no-env'], { env });
    assert.notEqual(optedOut.code, 0);
    assert.match(optedOut.stderr, /InvalidArgumentError/);
  },
};

// Scenarios that stop or kill nodes get a cluster of their own.
const ownCluster = new Set(['jeopardy_then_expired', 'leader_killed_lock_held', 'retried_request_applies_once']);

describe('shared scenarios (tests/scenarios.toml)', () => {
  let shared;
  before(async () => {
    shared = await Kit.start();
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {});
    await shared?.stop();
  });

  it('implements exactly the listed scenarios', () => {
    assert.deepEqual(Object.keys(scenarios).sort(), [...listed].sort());
  });

  for (const id of listed) {
    it(id, { timeout: 120_000 }, async () => {
      const run = scenarios[id];
      assert.ok(run, `tests/scenarios.toml lists ${id} but Node has no implementation`);
      if (!ownCluster.has(id)) return run(shared);
      const kit = await Kit.start();
      try {
        await run(kit);
      } finally {
        await kit.stop();
      }
    });
  }
});
