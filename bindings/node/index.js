// tenure: the Node.js client of the tenure distributed lock service.
//
// A thin, typed wrapper over the native addon (native.js, built by napi-rs from
// src/lib.rs), which wraps the Rust client core. Everything hard (sessions,
// heartbeats, client-side expiry, retries, fencing) happens in the core; this
// file maps errors to classes, bridges AbortSignal, and adds Node idioms.
// Types and documentation: index.d.ts.
'use strict';

const native = require('./native.js');

/** `Symbol.asyncDispose`, or Node 20's registered fallback symbol. */
const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');
/** `Symbol.dispose`, or Node 20's registered fallback symbol. */
const dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose');



// ---------------------------------------------------------------------------
// Errors

/** Base class of every error the client raises; `code` is the stable kind. */
class TenureError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The stable error code, e.g. `'LOCK_HELD'`. */
  get code() {
    return this.constructor.code;
  }
}
TenureError.code = 'INTERNAL';

function defineError(name, code) {
  const cls = {
    [name]: class extends TenureError {},
  }[name];
  cls.code = code;
  return cls;
}

/**
 * The JS class name of a core error kind: `<Name>Error`, except `Timeout`,
 * which becomes `TenureTimeoutError` (the DOM has a `TimeoutError`).
 */
function className(kind) {
  return kind.name === 'Timeout' ? 'TenureTimeoutError' : `${kind.name}Error`;
}

/** One class per kind of the core's list (`ErrorKind::ALL`), by code. */
const ERROR_CLASSES = Object.freeze(
  Object.fromEntries(native.errorKinds().map((kind) => [kind.code, defineError(className(kind), kind.code)])),
);
const ERROR_CLASS_BY_NAME = Object.fromEntries(Object.values(ERROR_CLASSES).map((cls) => [cls.name, cls]));
const { InvalidArgumentError, LockLostError, CancelledError, InternalError } = ERROR_CLASS_BY_NAME;

/** The stable error codes, by name. */
const ErrorCode = Object.freeze(
  Object.fromEntries(Object.keys(ERROR_CLASSES).map((code) => [code, code])),
);

/** The error class of a code (InternalError for an unknown one). */
function errorClassFor(code) {
  return ERROR_CLASSES[code] ?? InternalError;
}

/**
 * Turns an error thrown by the native layer into a TenureError subclass. The
 * native layer prefixes messages with the stable code (`"LOCK_HELD: ..."`);
 * napi's own argument-conversion errors (code `InvalidArg`, `StringExpected`,
 * ...) become InvalidArgumentError.
 */
function fromNative(err) {
  if (err instanceof TenureError) return err;
  const message = err && typeof err.message === 'string' ? err.message : String(err);
  const match = /^([A-Z_]+): ([\s\S]*)$/.exec(message);
  if (match && Object.hasOwn(ERROR_CLASSES, match[1])) {
    return new ERROR_CLASSES[match[1]](match[2], { cause: err });
  }
  const napiCode = err && typeof err.code === 'string' ? err.code : '';
  if (napiCode === 'InvalidArg' || napiCode.endsWith('Expected') || err instanceof TypeError) {
    return new InvalidArgumentError(message, { cause: err });
  }
  return new InternalError(message, { cause: err });
}

async function callAsync(fn) {
  try {
    return await fn();
  } catch (e) {
    throw fromNative(e);
  }
}

function callSync(fn) {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

// ---------------------------------------------------------------------------
// Constants

/** `{ SESSION_EXPIRED: 'session_expired', ... }` from the core's codes. */
function codeEnum(codes) {
  return Object.freeze(Object.fromEntries(codes.map((code) => [code.toUpperCase(), code])));
}

/** Why a lock stopped being held (the core's `LostReason::ALL`). */
const LostReason = codeEnum(native.lostReasons());

/** Health of a session as the client sees it (the core's `SessionState::ALL`). */
const SessionState = codeEnum(native.sessionStates());

/** Exclusive or shared (the core's `LockMode::ALL`). */
const LockMode = codeEnum(native.lockModes());

/** The header that carries a fence: `tenure-fence`. */
const FENCE_HEADER = native.FENCE_HEADER;

/** Most names in one Client#acquireAll (the server's limit). */
const MAX_ACQUIRE_ALL = native.MAX_ACQUIRE_ALL;

// ---------------------------------------------------------------------------
// Option conversion

const CLIENT_OPTION_KEYS = new Set([
  'ttlMs', 'keepaliveIntervalMs', 'drift', 'marginMs', 'callTimeoutMs',
  'attemptTimeoutMs', 'initialBackoffMs', 'maxBackoffMs', 'label', 'token',
  'caFile', 'certFile', 'keyFile', 'serverName', 'useEnv',
]);

function objectArg(what, value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${what} must be an object`);
  }
  return value;
}

function clientOptions(options) {
  const opts = objectArg('options', options);
  const out = {};
  for (const [key, value] of Object.entries(opts)) {
    if (!CLIENT_OPTION_KEYS.has(key)) {
      throw new InvalidArgumentError(`unknown client option ${JSON.stringify(key)}`);
    }
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/** The endpoints as a list; none (undefined or null) lets the core read TENURE_ENDPOINTS. */
function endpointList(endpoints) {
  if (endpoints === undefined || endpoints === null) return [];
  const list = typeof endpoints === 'string' ? [endpoints] : endpoints;
  if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) {
    throw new InvalidArgumentError('endpoints must be a string or an array of strings');
  }
  return list;
}

// Durations are checked once, by the native layer (the core's rules).
function acquireOptions(options) {
  const opts = objectArg('options', options);
  return {
    waitMs: opts.timeout ?? undefined,
    shared: Boolean(opts.shared),
    lockDelayMs: opts.lockDelayMs ?? undefined,
    value: opts.value ?? undefined,
    permits: opts.permits ?? undefined,
    permitLimit: opts.permitLimit ?? undefined,
  };
}

/** A permit count as the native layer takes it (u32); the core checks the range. */
function permitCount(what, value) {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new InvalidArgumentError(`${what} must be an integer from 1 to 1000000, got ${value}`);
  }
  return value;
}

/** Options of lock() and withLock(): a timeout is required, as in every language. */
function waitingOptions(what, options) {
  const opts = objectArg('options', options);
  if (opts.timeout === undefined || opts.timeout === null) {
    throw new InvalidArgumentError(`${what} needs a timeout (ms); use tryLock() to try once`);
  }
  return opts;
}

const U64_MAX = (1n << 64n) - 1n;

function toBigInt(what, value) {
  let v;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) v = BigInt(value);
  else if (typeof value === 'string' && /^[0-9]+$/.test(value)) v = BigInt(value);
  if (v === undefined || v < 0n || v > U64_MAX) {
    throw new InvalidArgumentError(`${what} must be an integer in 0..2^64-1 (bigint, safe number or decimal string)`);
  }
  return v;
}

// ---------------------------------------------------------------------------
// Fencing

/**
 * A lock name and a fencing token: what a holder sends to storage with every
 * write, as the header `tenure-fence: <lock>=<token>`.
 */
class Fence {
  constructor(lock, token) {
    const checked = toBigInt('fence token', token);
    callSync(() => native.checkFence(lock, checked));
    /** The lock (resource) name. */
    this.lock = lock;
    /** The fencing token. */
    this.token = checked;
    Object.freeze(this);
  }

  /** The header value, `<lock>=<token>`. */
  headerValue() {
    return callSync(() => native.fenceHeaderValue(this.lock, this.token));
  }

  /** Same as headerValue(). */
  toString() {
    return this.headerValue();
  }

  /** JSON form, with the token as a decimal string. */
  toJSON() {
    return { lock: this.lock, token: this.token.toString() };
  }

  /** Parses a header value made by headerValue(). */
  static parse(value) {
    if (typeof value !== 'string') throw new InvalidArgumentError('fence header value must be a string');
    const data = callSync(() => native.parseFence(value));
    return new Fence(data.lock, data.token);
  }
}

/**
 * The storage side of fencing: remembers the highest token seen per lock and
 * rejects lower ones with LockLostError. Equal tokens pass.
 */
class FenceValidator {
  #native = new native.NativeFenceValidator();

  /** Accepts `fence` if its token is not below the highest seen; else throws LockLostError. */
  check(fence) {
    const f = fence instanceof Fence ? fence : new Fence(fence?.lock, fence?.token);
    callSync(() => this.#native.check(f.lock, f.token));
  }

  /** Parses a header value, checks it and returns the fence. */
  checkHeader(value) {
    if (typeof value !== 'string') throw new InvalidArgumentError('fence header value must be a string');
    const data = callSync(() => this.#native.checkHeader(value));
    return new Fence(data.lock, data.token);
  }

  /** The highest token seen for `lock`, or null. */
  highest(lock) {
    return callSync(() => this.#native.highest(lock)) ?? null;
  }
}

/** Checks a lock name the way the server does; throws InvalidArgumentError. */
function validateLockName(name) {
  callSync(() => native.validateLockName(name));
}

// ---------------------------------------------------------------------------
// Lock

/**
 * Runs `start(signal)` while the core watches the lock: `done()` tells the
 * core the work ended; `outcome` rejects (LockLostError, ...) when the core
 * decides the work must stop, and `signal` then aborts. The work's own result
 * or error comes after the core's verdict.
 */
async function underCore(start, done, outcome) {
  const controller = new AbortController();
  const work = Promise.resolve().then(() => start(controller.signal));
  work.then(done, done);
  try {
    await outcome;
  } catch (e) {
    const err = fromNative(e);
    controller.abort(err);
    work.catch(() => {});
    throw err;
  }
  return work;
}

const INTERNAL = Symbol('tenure.internal');

/** A held lock (one grant). Obtain it from Client#lock/tryLock/acquire. */
class Lock {
  #native;
  #lost;
  #revokeRequested;
  #name;
  #token;

  constructor(key, nativeLock) {
    if (key !== INTERNAL) throw new TypeError('Lock is created by Client#lock, tryLock or acquire');
    this.#native = nativeLock;
    this.#name = nativeLock.name;
    this.#token = nativeLock.fencingToken;
  }

  /** The lock's name. */
  get name() {
    return this.#name;
  }

  /** The fencing token of this grant (a bigint, never a rounded number). */
  get fencingToken() {
    return this.#token;
  }

  /** The fence to pass to storage. */
  get fence() {
    return new Fence(this.#name, this.#token);
  }

  /** The grant's unique owner id (32 hex digits), for force-release. */
  get ownerId() {
    return this.#native.ownerId;
  }

  /** `'exclusive'` or `'shared'`. */
  get mode() {
    return this.#native.mode;
  }

  /** The id of the session holding it. */
  get sessionId() {
    return this.#native.sessionId;
  }

  /** Whether the lock is still held, judged locally (no network). */
  isHeld() {
    return this.#native.isHeld();
  }

  /** Milliseconds the lock is certainly held without a further renewal (0 once lost). */
  remaining() {
    return this.#native.remaining();
  }

  /** Why the lock is no longer held, or null while it is. */
  get lostReason() {
    return this.#native.lostReason() ?? null;
  }

  /**
   * A promise resolving with the reason when the lock is lost or released. It
   * is created on first access; while it is pending it keeps the process alive.
   */
  get lost() {
    this.#lost ??= callAsync(() => this.#native.lost());
    return this.#lost;
  }

  /**
   * Calls `callback(reason)` once when the lock is lost or released (at once,
   * asynchronously, if it already is). Does not keep the process alive.
   */
  onLost(callback) {
    if (typeof callback !== 'function') throw new InvalidArgumentError('callback must be a function');
    callSync(() => this.#native.onLost((reason) => callback(reason)));
  }

  /**
   * Replaces the value kept with this grant (shown by describe, listLocks and
   * watches as `value_changed`): how an elected leader proclaims a new value.
   * LockLostError if the lock is no longer held.
   */
  async setValue(value) {
    await callAsync(() => this.#native.setValue(value));
  }

  /**
   * Whether someone asked this holder to release the lock (Client#requestRelease).
   * Advisory: the lock stays held until the holder releases it (or loses it).
   */
  get revokeRequested() {
    return this.#native.isRevokeRequested();
  }

  /**
   * A promise resolving with `true` when someone asks this holder to release
   * the lock (it arrives with the next renewal), or with `false` if the lock is
   * lost or released first without a request. It is created on the first call;
   * while it is pending it keeps the process alive.
   */
  waitRevokeRequested() {
    this.#revokeRequested ??= callAsync(() => this.#native.revokeRequested());
    return this.#revokeRequested;
  }

  /**
   * Calls `callback()` once when someone asks this holder to release the lock
   * (at once, asynchronously, if someone already has). Advisory: finish the
   * work and release(). Does not keep the process alive.
   */
  onRevokeRequested(callback) {
    if (typeof callback !== 'function') throw new InvalidArgumentError('callback must be a function');
    callSync(() => this.#native.onRevokeRequested(() => callback()));
  }

  /** Releases the lock. Idempotent: releasing a released or lost lock resolves. */
  async release() {
    await callAsync(() => this.#native.release());
  }

  /**
   * Runs `work(lock, signal)` while the lock is held: the core's `Lock::run`.
   * If the lock is lost first, `signal` aborts and the promise rejects with
   * LockLostError (the work itself cannot be stopped from outside: honour the
   * signal). Does not release the lock.
   */
  async run(work) {
    if (typeof work !== 'function') throw new InvalidArgumentError('work must be a function');
    const ended = new native.NativeWork();
    return underCore((signal) => work(this, signal), () => ended.done(), this.#native.run(ended));
  }

  /**
   * Releases the lock at the end of `await using lock = ...`, and throws
   * LockLostError if it was lost before: the core's `Lock::finish`.
   */
  [asyncDispose]() {
    return callAsync(() => this.#native.finish());
  }

  /** A short description for logs. */
  toString() {
    return `Lock(${this.#name}, token=${this.#token})`;
  }
}

/**
 * Runs a native acquire, `start(token)`, and wraps its lock (`wrap`: what it
 * got, e.g. an acquireAll's locks). `token` is a CancelToken fired when
 * `signal` aborts (none without a signal): a waiting acquire is withdrawn
 * from the server's queue (what an acquireAll try got is released) and the
 * promise rejects with CancelledError (`cause`: the signal's reason).
 */
async function acquireLock(what, signal, start, wrap = (nativeLock) => new Lock(INTERNAL, nativeLock)) {
  if (signal !== undefined && signal !== null && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal must be an AbortSignal');
  }
  const aborted = () => new CancelledError(`${what} was aborted`, { cause: signal.reason });
  if (signal?.aborted) throw aborted();
  let token;
  let onAbort;
  if (signal) {
    token = new native.CancelToken();
    onAbort = () => token.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
  }
  try {
    return wrap(await start(token));
  } catch (e) {
    const err = fromNative(e);
    if (err instanceof CancelledError && signal?.aborted) throw aborted();
    throw err;
  } finally {
    if (signal) signal.removeEventListener('abort', onAbort);
  }
}

// ---------------------------------------------------------------------------
// Watches and elections

/**
 * What Watcher and Observer share: next() waits for the next item, close()
 * ends them. `for await` ends once closed, and closes when the loop is left
 * early (break, return, throw); an error of next() ends the loop unclosed.
 */
class Feed {
  #native;

  constructor(nativeFeed) {
    this.#native = nativeFeed;
  }

  /** The next item; CancelledError once closed. */
  async next() {
    return (await callAsync(() => this.#native.next())) ?? null;
  }

  /** Ends it: a pending next() (which then no longer keeps the process alive) and every later one reject with CancelledError. */
  close() {
    this.#native.close();
  }

  [Symbol.asyncIterator]() {
    const done = { value: undefined, done: true };
    return {
      next: () => this.next().then(
        (value) => ({ value, done: false }),
        (e) => { if (e instanceof CancelledError) return done; throw e; },
      ),
      return: async () => { this.close(); return done; },
      [Symbol.asyncIterator]() { return this; },
    };
  }

  /** Closes it: `using watcher = client.watch(...)`. */
  [dispose]() {
    this.close();
  }

  /** Closes it: `await using watcher = client.watch(...)`. */
  async [asyncDispose]() {
    this.close();
  }
}

/**
 * The changes of every lock under a prefix, from Client#watch: batches of
 * events in revision order, or a reset with the state. Reconnects and leader
 * changes are handled inside the core, resuming from `revision`.
 */
class Watcher extends Feed {
  #native;

  constructor(key, nativeWatcher) {
    if (key !== INTERNAL) throw new TypeError('Watcher is created by Client#watch');
    super(nativeWatcher);
    this.#native = nativeWatcher;
  }

  /** The prefix watched. */
  get prefix() {
    return this.#native.prefix;
  }

  /** The revision of the last batch returned (or the start one): resume from it with `watch(prefix, { startRevision })`. */
  get revision() {
    return this.#native.revision;
  }
}

/** The leaders of an election, from Election#observe: the current one first, then after every change (null: nobody leads). */
class Observer extends Feed {
  constructor(key, nativeObserver) {
    if (key !== INTERNAL) throw new TypeError('Observer is created by Election#observe');
    super(nativeObserver);
  }
}

/**
 * Leader election on the lock `name`, from Client#election: the leader is the
 * lock's holder, and the leadership a Lock (fencing token, lost, onLost):
 * proclaim with lock.setValue(), resign with lock.release().
 */
class Election {
  #native;

  constructor(key, nativeElection) {
    if (key !== INTERNAL) throw new TypeError('use client.election()');
    this.#native = nativeElection;
    /** The election's name (a lock name). */
    this.name = nativeElection.name;
    Object.freeze(this);
  }

  /**
   * Waits up to `timeout` ms (required; FIFO) to lead with `value` (shown to
   * observers, e.g. this node's address); resolves with the leadership.
   * TenureTimeoutError if not elected in time; `signal` withdraws the campaign.
   */
  async campaign(value, options) {
    const opts = waitingOptions('campaign()', options);
    return acquireLock(`campaign for ${JSON.stringify(this.name)}`, opts.signal, (token) =>
      this.#native.campaign(value, opts.timeout, token));
  }

  /** Leads at once if nobody does; LockHeldError otherwise. */
  async tryCampaign(value) {
    return acquireLock('tryCampaign', undefined, () => this.#native.campaign(value));
  }

  /** The current leader, or null (a linearizable read on the leader node). */
  async leader() {
    return (await callAsync(() => this.#native.leader())) ?? null;
  }

  /** The leader changes, starting with the current leader. No network until the first next(). */
  observe() {
    return new Observer(INTERNAL, this.#native.observe());
  }
}

// ---------------------------------------------------------------------------
// Client

/** A session-state subscription; cancel() ends it. */
class Subscription {
  #native;
  #onClose;

  constructor(key, nativeSub, onClose) {
    if (key !== INTERNAL) throw new TypeError('Subscription is created by Client#onSessionState');
    this.#native = nativeSub;
    this.#onClose = onClose;
  }

  /** Ends the subscription (idempotent). */
  cancel() {
    if (!this.#native) return;
    this.#native.cancel();
    this.#native = null;
    this.#onClose(this);
  }

  /** Ends the subscription: `using sub = client.onSessionState(...)`. */
  [dispose]() {
    this.cancel();
  }
}

/**
 * A connection to a tenure cluster. It holds one session at a time (opened by
 * connect(), or by the first acquire of a lazy client, and again after one
 * expires). Close it when done: close() ends the session and releases its locks.
 */
/**
 * A counting semaphore of `permits` permits, from Client.semaphore(). Each
 * acquire returns a Lock with its own owner id and fencing token; grants are
 * FIFO while the permits held stay within `permits`, and go back when
 * released or when the holder's session ends. The number of permits is fixed
 * while anyone holds or waits for the name (InvalidArgumentError otherwise).
 */
class Semaphore {
  #client;

  constructor(key, client, name, permits) {
    if (key !== INTERNAL) throw new TypeError('use client.semaphore()');
    this.#client = client;
    /** The semaphore's name (a lock name). */
    this.name = name;
    /** Its number of permits. */
    this.permits = permitCount('permits', permits);
    Object.freeze(this);
  }

  /** Waits up to `timeout` ms (required) for `count` permits (default 1). */
  async acquire(options) {
    return this.#client.acquire(this.name, this.#options(waitingOptions('acquire()', options)));
  }

  /** Takes `count` permits (default 1) if they are free now; LockHeldError if not. */
  async tryAcquire(options) {
    const opts = objectArg('options', options);
    return this.#client.acquire(this.name, this.#options({ ...opts, timeout: undefined }));
  }

  #options(opts) {
    if (opts.shared) throw new InvalidArgumentError('a semaphore counts permits; shared is for locks');
    const permits = permitCount('count', opts.count ?? 1);
    return { ...opts, permits, permitLimit: this.permits };
  }
}

class Client {
  #native;
  #subs = new Set();

  constructor(key, nativeClient) {
    if (key !== INTERNAL) throw new TypeError('use Client.connect() or Client.connectLazy()');
    this.#native = nativeClient;
  }

  /** Connects to the cluster at `endpoints` and opens a session. */
  static async connect(endpoints, options) {
    const list = endpointList(endpoints);
    const opts = clientOptions(options);
    return new Client(INTERNAL, await callAsync(() => native.connect(list, opts)));
  }

  /** Like connect(), but opens no session until the first acquire (for admin tools). */
  static connectLazy(endpoints, options) {
    const list = endpointList(endpoints);
    const opts = clientOptions(options);
    return new Client(INTERNAL, callSync(() => native.connectLazy(list, opts)));
  }

  /**
   * Acquires `name`. With `timeout` (ms) waits in the server's FIFO queue up
   * to that long (TenureTimeoutError after); without, tries once
   * (LockHeldError if taken). `signal` aborts a waiting acquire: it is
   * withdrawn from the server's queue and the promise rejects with CancelledError.
   */
  async acquire(name, options) {
    const opts = objectArg('options', options);
    const nativeOpts = acquireOptions(opts);
    return acquireLock(`acquire of ${JSON.stringify(name)}`, opts.signal, (token) =>
      this.#native.acquire(name, nativeOpts, token));
  }

  /**
   * Waits up to `timeout` ms (required: there is no default wait, as in every
   * language) for the lock (exclusive, or shared with `shared: true`).
   */
  async lock(name, options) {
    return this.acquire(name, waitingOptions('lock()', options));
  }

  /** Tries once; LockHeldError if the lock is taken. */
  async tryLock(name, options) {
    const opts = objectArg('options', options);
    return this.acquire(name, { ...opts, timeout: undefined });
  }

  /**
   * Acquires every lock of `names` (1 to MAX_ACQUIRE_ALL distinct names) at
   * once, or none: resolves with one Lock per name, in the order given, each
   * with its own fencing token and owner id. Without `timeout`, one try
   * (LockHeldError naming the first that is taken); with it, waits in every
   * name's FIFO queue at once, holding none, until it gets them all or the
   * timeout runs out (TenureTimeoutError). `shared`, `value` and `lockDelayMs` apply to every
   * grant. `signal` aborts it (CancelledError); what the try may have got is
   * released.
   */
  async acquireAll(names, options) {
    if (!Array.isArray(names)) throw new InvalidArgumentError('names must be an array of lock names');
    const opts = objectArg('options', options);
    const nativeOpts = acquireOptions(opts);
    return acquireLock(`acquireAll of ${JSON.stringify(names)}`, opts.signal, (token) =>
      this.#native.acquireAll(names, nativeOpts, token), (locks) => locks.map((l) => new Lock(INTERNAL, l)));
  }

  /** acquireAll() with one try: LockHeldError if any of the locks is taken. */
  async tryAcquireAll(names, options) {
    const opts = objectArg('options', options);
    return this.acquireAll(names, { ...opts, timeout: undefined });
  }

  /** The counting semaphore `name` of `permits` permits (1 to 1,000,000). No network until an acquire. */
  semaphore(name, permits) {
    return new Semaphore(INTERNAL, this, name, permits);
  }

  /**
   * Watches every lock whose name starts with `prefix` ('' for all; needs read
   * permission on it). From `startRevision` 0 (the default) the first batch is
   * the state (`reset`); from the revision of a batch seen before, the changes
   * after it (or a reset, if the server no longer has them all). No network
   * until the first next(); needs no session.
   */
  watch(prefix = '', options) {
    const start = toBigInt('startRevision', objectArg('options', options).startRevision ?? 0);
    return new Watcher(INTERNAL, callSync(() => this.#native.watch(prefix, start)));
  }

  /** The election `name` (a lock of that name): campaign, leader, observe. No network. */
  election(name) {
    return new Election(INTERNAL, callSync(() => this.#native.election(name)));
  }

  /**
   * The core's `with_lock`: acquires `name` like lock() (a `timeout` is
   * required), runs `work(lock, signal)` and releases the lock. If the lock is
   * lost during the work, `signal` aborts and the promise rejects with
   * LockLostError; if it is lost before the release, LockLostError too. The
   * core's errors come before the work's own.
   */
  async withLock(name, work, options) {
    if (typeof work !== 'function') throw new InvalidArgumentError('work must be a function');
    const opts = acquireOptions(waitingOptions('withLock()', options));
    const scope = callSync(() => this.#native.lockScope(name, opts));
    let lock;
    try {
      lock = new Lock(INTERNAL, await callAsync(() => scope.lock()));
    } catch (e) {
      scope.cancel();
      throw e;
    }
    return underCore((signal) => work(lock, signal), () => scope.workDone(), scope.outcome());
  }

  /** The current session's id, or null if none is open. */
  async sessionId() {
    return (await callAsync(() => this.#native.sessionId())) ?? null;
  }

  /** The session state: `'healthy'`, `'jeopardy'` or `'expired'` (also when there is none). */
  get sessionState() {
    return this.#native.sessionState();
  }

  /**
   * Calls `callback(state)` with every change of the session state until the
   * returned subscription is closed. Does not keep the process alive.
   */
  onSessionState(callback) {
    if (typeof callback !== 'function') throw new InvalidArgumentError('callback must be a function');
    const nativeSub = callSync(() => this.#native.onSessionState((state) => callback(state)));
    // Held here so that the subscription is not garbage-collected (and ended) early.
    const sub = new Subscription(INTERNAL, nativeSub, (s) => this.#subs.delete(s));
    this.#subs.add(sub);
    return sub;
  }

  /**
   * Admin: frees `name` only if `ownerId` still holds it (compare-and-swap),
   * handing it to the next waiter. Returns the grants made. NotHolderError if
   * that grant is no longer current.
   */
  async forceRelease(name, ownerId, reason = '') {
    return callAsync(() => this.#native.forceRelease(name, ownerId, reason));
  }

  /**
   * Asks the holders of `name` (only the grant `ownerId`, if given) to release
   * it, for `reason`: each holder learns it with its next renewal
   * (Lock#onRevokeRequested) and decides. Advisory: frees nothing (for a
   * holder that is gone, forceRelease). Needs lock permission on the name.
   * Resolves with the grants asked (empty: nobody held it, or not that grant).
   */
  async requestRelease(name, options) {
    const { ownerId, reason } = objectArg('options', options);
    return callAsync(() => this.#native.requestRelease(name, ownerId ?? undefined, reason ?? ''));
  }

  /**
   * Admin: blacklists a session: it is never renewed again and expires at its
   * current deadline. Resolves with the ms left until then.
   */
  async blacklist(sessionId, reason = '') {
    const id = toBigInt('sessionId', sessionId);
    return callAsync(() => this.#native.blacklist(id, reason));
  }

  /** Reads one lock: holders and waiters (null if nobody holds or waits for it). */
  async describe(name) {
    return (await callAsync(() => this.#native.describe(name))) ?? null;
  }

  /** Lists locks whose names start with `prefix` (all by default). */
  async listLocks(prefix = '') {
    return callAsync(() => this.#native.listLocks(prefix));
  }

  /** Lists the cluster's sessions. */
  async listSessions() {
    return callAsync(() => this.#native.listSessions());
  }

  /** The cluster status as the leader (or any reachable node) sees it. */
  async status() {
    return callAsync(() => this.#native.status());
  }

  /** The most recent admin actions, oldest first (at most `limit`, default 100). */
  async audit(limit = 100) {
    return callAsync(() => this.#native.audit(limit));
  }

  /**
   * This client's counters per lock-name prefix (a name's first segment with
   * its slash): acquires granted and failed, releases, losses, total wait
   * and hold time. No network.
   */
  metrics() {
    return this.#native.metrics();
  }

  /** The same counters, with wait and hold histograms, in the Prometheus text format (`tenure_client_*`). */
  metricsText() {
    return this.#native.metricsText();
  }

  /** The endpoints this client was given. */
  get endpoints() {
    return this.#native.endpoints();
  }

  /** Closes the session: its locks pass on at once and are marked lost (`client_closed`). */
  async close() {
    await callAsync(() => this.#native.close());
  }

  /** Closes the client: `await using client = await Client.connect(...)`. */
  [asyncDispose]() {
    return this.close();
  }
}

module.exports = {
  Client,
  Lock,
  Semaphore,
  Subscription,
  Watcher,
  Election,
  Observer,
  Fence,
  FenceValidator,
  FENCE_HEADER,
  MAX_ACQUIRE_ALL,
  LostReason,
  SessionState,
  LockMode,
  ErrorCode,
  TenureError,
  ...ERROR_CLASS_BY_NAME,
  errorClassFor,
  validateLockName,
  asyncDispose,
  dispose,
};
