// Error classes and codes, argument validation, fences and the validator.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createRequire } from 'node:module';

import * as tenure from 'tenure';
import { freePortRange, startCluster } from './cluster.mjs';

const {
  Client,
  CancelledError,
  ErrorCode,
  Fence,
  FenceValidator,
  InternalError,
  InvalidArgumentError,
  LockLostError,
  TenureError,
  UnavailableError,
  errorClassFor,
  validateLockName,
} = tenure;

const CLASSES = {
  UNAVAILABLE: 'UnavailableError',
  TIMEOUT: 'TenureTimeoutError',
  LOCK_HELD: 'LockHeldError',
  LOCK_LOST: 'LockLostError',
  SESSION_EXPIRED: 'SessionExpiredError',
  SESSION_BLACKLISTED: 'SessionBlacklistedError',
  NOT_HOLDER: 'NotHolderError',
  INVALID_ARGUMENT: 'InvalidArgumentError',
  PERMISSION_DENIED: 'PermissionDeniedError',
  RESOURCE_EXHAUSTED: 'ResourceExhaustedError',
  CANCELLED: 'CancelledError',
  ALREADY_HELD: 'AlreadyHeldError',
  INTERNAL: 'InternalError',
};

describe('error classes', () => {
  it('one exported subclass per stable code', () => {
    assert.deepEqual(Object.keys(ErrorCode).sort(), Object.keys(CLASSES).sort());
    for (const [code, className] of Object.entries(CLASSES)) {
      const cls = tenure[className];
      assert.equal(typeof cls, 'function', className);
      assert.equal(cls.code, code);
      assert.equal(errorClassFor(code), cls);
      const err = new cls('message', { cause: 'why' });
      assert.ok(err instanceof TenureError && err instanceof Error, className);
      assert.equal(err.code, code);
      assert.equal(err.name, className);
      assert.equal(err.message, 'message');
      assert.equal(err.cause, 'why');
    }
    assert.equal(errorClassFor('NO_SUCH_CODE'), InternalError);
  });
});

describe("the core's lists", () => {
  // The loader of the same `tenure` the tests import (a relative require of
  // its native.js: the package's exports do not list it).
  const require = createRequire(import.meta.url);
  const native = createRequire(require.resolve('tenure'))('./native.js');
  it("error kinds, lost reasons, states and modes are the core's", () => {
    assert.deepEqual(Object.keys(ErrorCode), native.errorKinds().map((k) => k.code));
    assert.deepEqual(Object.keys(CLASSES), native.errorKinds().map((k) => k.code));
    assert.deepEqual(Object.values(tenure.LostReason), native.lostReasons());
    assert.deepEqual(Object.values(tenure.SessionState), native.sessionStates());
    assert.deepEqual(Object.values(tenure.LockMode), native.lockModes());
  });
});

describe('validation without a server', () => {
  it('bad lock names are InvalidArgumentError', () => {
    assert.throws(() => validateLockName(''), InvalidArgumentError);
    assert.throws(() => validateLockName('a'.repeat(257)), InvalidArgumentError);
    assert.throws(() => validateLockName('bad\nname'), InvalidArgumentError);
    validateLockName('jobs/nightly');
  });

  it('bad client options are InvalidArgumentError', async () => {
    await assert.rejects(Client.connect('127.0.0.1:1', { ttlMs: -5 }), InvalidArgumentError);
    await assert.rejects(Client.connect('127.0.0.1:1', { ttlMs: 10 }), /ttl must be at least 1 s/);
    await assert.rejects(Client.connect('127.0.0.1:1', { drift: 0.9 }), InvalidArgumentError);
    await assert.rejects(Client.connect('127.0.0.1:1', { ttl: 5 }), /unknown client option "ttl"/);
    await assert.rejects(Client.connect('127.0.0.1:1', { ttlMs: 'soon' }), InvalidArgumentError);
    await assert.rejects(Client.connect('127.0.0.1:1', { certFile: '/x.pem' }), InvalidArgumentError);
    await assert.rejects(Client.connect(42), InvalidArgumentError);
    await assert.rejects(Client.connect('no-port'), InvalidArgumentError);
    assert.throws(() => Client.connectLazy([]), InvalidArgumentError);
  });

  it('an unreachable cluster is UnavailableError', async () => {
    const port = await freePortRange(1); // nothing listens there
    await assert.rejects(
      Client.connect(`127.0.0.1:${port}`, { callTimeoutMs: 500, attemptTimeoutMs: 200 }),
      (e) => {
        assert.ok(e instanceof UnavailableError, String(e));
        assert.equal(e.code, 'UNAVAILABLE');
        return true;
      },
    );
  });

  it('Client, Lock and Subscription are not constructed directly', () => {
    assert.throws(() => new Client(), TypeError);
    assert.throws(() => new tenure.Lock(), TypeError);
    assert.throws(() => new tenure.Subscription(), TypeError);
  });
});

describe('fences', () => {
  it('round-trip through the header, with exact 64-bit tokens', () => {
    const big = 18446744073709551615n; // u64::MAX: not representable as a number
    const f = new Fence('jobs/ünï=1', big);
    assert.equal(f.token, big);
    const parsed = Fence.parse(f.headerValue());
    assert.equal(parsed.lock, 'jobs/ünï=1');
    assert.equal(parsed.token, big);
    assert.equal(String(new Fence('jobs/x', 7)), 'jobs/x=7');
    assert.deepEqual(JSON.parse(JSON.stringify(new Fence('a', 9n))), { lock: 'a', token: '9' });
    assert.equal(new Fence('a', 5).token, 5n);
    assert.equal(new Fence('a', '12').token, 12n);
  });

  it('bad fences are InvalidArgumentError', () => {
    for (const bad of ['', 'noequals', 'x=', '=5', 'x=-1', 'x=abc', 'x=18446744073709551616']) {
      assert.throws(() => Fence.parse(bad), InvalidArgumentError, bad);
    }
    assert.throws(() => new Fence('', 1n), InvalidArgumentError);
    assert.throws(() => new Fence('a', -1n), InvalidArgumentError);
    assert.throws(() => new Fence('a', 1.5), InvalidArgumentError);
    assert.throws(() => new Fence('a', 2 ** 60), InvalidArgumentError); // not a safe integer
  });

  it('the validator rejects lower tokens per lock with LockLostError', () => {
    const v = new FenceValidator();
    v.check(new Fence('a', 5n));
    v.check({ lock: 'a', token: 5n }); // equal passes
    assert.throws(() => v.check(new Fence('a', 4n)), (e) => {
      assert.ok(e instanceof LockLostError);
      assert.equal(e.code, 'LOCK_LOST');
      assert.match(e.message, /stale fencing token 4/);
      return true;
    });
    v.check(new Fence('b', 1n));
    assert.equal(v.checkHeader('a=9').token, 9n);
    assert.throws(() => v.checkHeader('a=8'), LockLostError);
    assert.throws(() => v.checkHeader('garbage'), InvalidArgumentError);
    assert.equal(v.highest('a'), 9n);
    assert.equal(v.highest('nope'), null);
  });
});

describe('argument errors against a cluster', () => {
  let cluster;
  let client;
  before(async () => {
    cluster = await startCluster();
    client = await Client.connect(cluster.endpoints);
  });
  after(async () => {
    await client?.close().catch(() => {});
    await cluster?.stop();
  });

  it('bad names, timeouts and option types are InvalidArgumentError', async () => {
    await assert.rejects(client.tryLock(''), InvalidArgumentError);
    await assert.rejects(client.tryLock('x\u0000y'), InvalidArgumentError);
    await assert.rejects(client.tryLock(42), InvalidArgumentError);
    await assert.rejects(client.lock('x', { timeout: -1 }), InvalidArgumentError);
    await assert.rejects(client.lock('x', { timeout: Number.NaN }), InvalidArgumentError);
    await assert.rejects(client.lock('x', { timeout: 2 * 3_600_000 }), InvalidArgumentError);
    await assert.rejects(client.lock('x', 'fast'), InvalidArgumentError);
    await assert.rejects(client.describe(''), InvalidArgumentError);
    await assert.rejects(client.blacklist(-1), InvalidArgumentError);
    await assert.rejects(client.forceRelease('x', 'not-an-owner', 'r'), (e) => e instanceof TenureError);
    await assert.rejects(client.withLock('x', 'not a function'), InvalidArgumentError);
    // No silent default wait: lock() and withLock() need a timeout, as in every language.
    await assert.rejects(client.lock('x'), InvalidArgumentError);
    await assert.rejects(client.withLock('x', () => 1), InvalidArgumentError);
    await assert.rejects(client.acquire('x', { signal: 'no' }), InvalidArgumentError);
    assert.ok(!(new InvalidArgumentError('x') instanceof CancelledError));
  });
});
