// The wasm client under Deno (run by test/deno.test.mjs with the endpoints of
// a `tenure dev --web` cluster as the argument): connect, lock, contention
// (LockHeldError), bigint tokens, withLock, a 1.5 s session kept by Renew for
// 5 s (Deno's timers), FenceValidator, a watch, close. Exits non-zero on any
// failure.
import {
  Client,
  FenceValidator,
  LockHeldError,
  LockLostError,
} from '../../index.js';

const endpoints = Deno.args[0];
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const a = await Client.connect(endpoints, { ttlMs: 1_500, label: 'deno-a' });
const b = await Client.connect(endpoints, { label: 'deno-b' });
try {
  const name = `deno/${Date.now()}`;
  const lock = await a.lock(name, { timeout: 5_000 });
  check(typeof lock.fencingToken === 'bigint' && lock.fencingToken > 0n, 'a bigint fencing token');
  let held = null;
  try {
    await b.tryLock(name);
  } catch (e) {
    held = e;
  }
  check(held instanceof LockHeldError && held.code === 'LOCK_HELD', 'a held lock: LockHeldError');
  await new Promise((r) => setTimeout(r, 5_000));
  check(lock.isHeld() && a.sessionState === 'healthy', 'Renew keeps a 1.5 s session for 5 s');
  const info = await b.describe(name);
  check(info.holders[0].token === lock.fencingToken, 'describe shows the holder and token');
  await lock.release();
  check((await lock.lost) === 'released', 'lost resolves with "released"');
  const next = await b.withLock(name, (l) => l.fencingToken, { timeout: 5_000 });
  check(next > lock.fencingToken, 'withLock: a higher token');
  const storage = new FenceValidator();
  storage.check({ lock: name, token: next });
  let stale = null;
  try {
    storage.check(lock.fence);
  } catch (e) {
    stale = e;
  }
  check(stale instanceof LockLostError, 'FenceValidator rejects the stale token');
  const watcher = b.watch(`${name}/`);
  const reset = await watcher.next();
  const watched = await a.tryLock(`${name}/w`);
  const granted = await watcher.next();
  watcher.close();
  await watched.release();
  check(
    reset.reset && granted.events[0]?.change === 'granted' && granted.events[0].token === watched.fencingToken,
    'a watch streams the state, then the grant (server streaming over Deno\'s fetch)',
  );
} finally {
  await a.close();
  await b.close();
}
console.log('deno smoke test passed');
