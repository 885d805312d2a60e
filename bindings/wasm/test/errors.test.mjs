// Error classes from the core's kinds, fences and the storage-side validator,
// argument checks, and the negative controls: a cluster without gRPC-web
// refuses the wasm client with a clear UnavailableError (so the tests above
// would fail without the server's flag), a lone `tenure server --web-origin`
// serves it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import {
  Client,
  ErrorCode,
  Fence,
  FenceValidator,
  InternalError,
  InvalidArgumentError,
  LockLostError,
  TenureError,
  TenureTimeoutError,
  UnavailableError,
  errorClassFor,
  errorClasses,
  validateLockName,
} from '../index.js';
import * as tenure from '../index.js';
import { startCluster, startServer, uniqueName } from './cluster.mjs';

const stops = [];
after(async () => {
  for (const stop of stops) await stop();
});

describe('error classes', () => {
  it('one class per kind of the core, with its code', () => {
    const codes = Object.keys(ErrorCode);
    assert.ok(codes.includes('LOCK_HELD') && codes.includes('UNAVAILABLE') && codes.includes('INTERNAL'));
    assert.equal(Object.keys(errorClasses).length, codes.length);
    for (const code of codes) {
      const cls = errorClassFor(code);
      assert.equal(cls.code, code);
      const e = new cls('m');
      assert.ok(e instanceof TenureError && e instanceof Error);
      assert.equal(e.code, code);
      assert.equal(e.name, cls.name);
    }
    // A kind added to the core needs its named export here (ES modules export statically).
    for (const [name, cls] of Object.entries(errorClasses)) {
      assert.equal(tenure[name], cls, `index.js exports ${name}`);
    }
    assert.equal(errorClassFor('TIMEOUT'), TenureTimeoutError, 'Timeout is TenureTimeoutError (the DOM has a TimeoutError)');
    assert.equal(errorClassFor('NO_SUCH_CODE'), InternalError);
  });
});

describe('fences', () => {
  it('render to and parse from the tenure-fence header', () => {
    const f = new Fence('jobs/nightly', 42n);
    assert.equal(f.headerValue(), 'jobs/nightly=42');
    const back = Fence.parse(f.headerValue());
    assert.equal(back.lock, 'jobs/nightly');
    assert.equal(back.token, 42n);
    assert.equal(new Fence('x', '18446744073709551615').token, (1n << 64n) - 1n, 'u64 tokens survive');
    assert.deepEqual(f.toJSON(), { lock: 'jobs/nightly', token: '42' });
    assert.throws(() => new Fence('', 1n), InvalidArgumentError);
    assert.throws(() => new Fence('x', -1n), InvalidArgumentError);
    assert.throws(() => new Fence('x', 1n << 64n), InvalidArgumentError);
    assert.throws(() => Fence.parse('no-token'), InvalidArgumentError);
    assert.throws(() => validateLockName('bad\nname'), InvalidArgumentError);
  });

  it('FenceValidator rejects a stale token with LockLostError and accepts equal and higher ones', () => {
    const v = new FenceValidator();
    assert.equal(v.highest('r'), null);
    v.check(new Fence('r', 7n));
    v.check({ lock: 'r', token: 7n }); // the same holder writes again
    assert.throws(() => v.check(new Fence('r', 6n)), (e) => e instanceof LockLostError && e.code === 'LOCK_LOST');
    assert.equal(v.checkHeader('r=9').token, 9n);
    assert.throws(() => v.checkHeader('r=8'), LockLostError);
    assert.equal(v.highest('r'), 9n);
    v.check(new Fence('other', 1n)); // per resource
  });
});

describe('arguments', () => {
  it('bad options are InvalidArgumentError, checked by the core', async () => {
    await assert.rejects(Client.connect('127.0.0.1:1', { bogus: 1 }), InvalidArgumentError);
    await assert.rejects(Client.connect('127.0.0.1:1', { ttlMs: 'x' }), InvalidArgumentError);
    await assert.rejects(Client.connect('127.0.0.1:1', { ttlMs: 10 }), /ttl must be at least 1 s/);
    await assert.rejects(Client.connect('127.0.0.1:1', { marginMs: -1 }), InvalidArgumentError);
    await assert.rejects(Client.connect(42), InvalidArgumentError);
    assert.throws(() => Client.connectLazy([]), InvalidArgumentError);
  });
});

describe('gRPC-web on the server', () => {
  it('negative control: a cluster without --web refuses the client with UnavailableError', async () => {
    const plain = await startCluster({ nodes: 1, web: false });
    stops.push(plain.stop);
    const started = Date.now();
    await assert.rejects(Client.connect(plain.endpoints, { callTimeoutMs: 2_000 }), (e) => {
      assert.ok(e instanceof UnavailableError, `${e}`);
      assert.equal(e.code, 'UNAVAILABLE');
      assert.match(e.message, /--web-origin/, 'the message says what to check');
      return true;
    });
    assert.ok(Date.now() - started < 15_000);
    // The same cluster serves native clients: the CLI sees a leader.
    const lazy = Client.connectLazy(plain.endpoints, { callTimeoutMs: 1_000 });
    await assert.rejects(lazy.status(), UnavailableError);
  });

  it('a lone `tenure server --web-origin local` serves the client; without the flag it refuses it', async () => {
    const web = await startServer({ origins: ['local'] });
    stops.push(web.stop);
    const c = await Client.connect(web.endpoints, { ttlMs: 2_000 });
    const lock = await c.tryLock(uniqueName('server'));
    assert.equal(typeof lock.fencingToken, 'bigint');
    await lock.release();
    await c.close();

    const off = await startServer({ origins: [] });
    stops.push(off.stop);
    await assert.rejects(Client.connect(off.endpoints, { callTimeoutMs: 2_000 }), UnavailableError);
  });
});
