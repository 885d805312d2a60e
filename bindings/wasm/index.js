// tenure-wasm: the WebAssembly client of the tenure distributed lock service,
// for browsers (pages and Workers), Node and Deno.
//
// A thin, typed wrapper over the wasm module (pkg/, built by wasm-bindgen from
// src/*.rs), which wraps the Rust client core. Everything hard (sessions,
// heartbeats, client-side expiry, retries, fencing) happens in the core; this
// file maps errors to classes, bridges AbortSignal, adds the JS idioms (await
// using, the lost promise) and tells the core when the page may have been
// paused (hidden, frozen, resumed). The API is the Node binding's
// (bindings/node/index.js) where the platform allows. Types: index.d.ts.
import initWasm, * as native from './pkg/tenure_wasm.js';

// ---------------------------------------------------------------------------
// Loading the module

/**
 * Loads the .wasm next to this file: by `fetch` on the web (and in Workers),
 * from disk where this file is a `file:` URL (Node, Deno, Bun).
 */
async function loadWasm() {
  const url = new URL('./pkg/tenure_wasm_bg.wasm', import.meta.url);
  if (url.protocol === 'file:') {
    // Hidden from bundlers, which would try to resolve it for the browser.
    const fsModule = 'node:fs/promises';
    const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsModule);
    await initWasm({ module_or_path: await readFile(url) });
  } else {
    await initWasm({ module_or_path: url });
  }
}
await loadWasm();

/** `Symbol.asyncDispose`, or the registered fallback symbol where it is missing. */
export const asyncDispose = Symbol.asyncDispose ?? Symbol.for('nodejs.asyncDispose');
/** `Symbol.dispose`, or the registered fallback symbol where it is missing. */
export const dispose = Symbol.dispose ?? Symbol.for('nodejs.dispose');

// ---------------------------------------------------------------------------
// Errors

/** Base class of every error the client raises; `code` is the stable kind. */
export class TenureError extends Error {
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

export const {
  UnavailableError,
  TenureTimeoutError,
  LockHeldError,
  LockLostError,
  SessionExpiredError,
  SessionBlacklistedError,
  NotHolderError,
  InvalidArgumentError,
  PermissionDeniedError,
  ResourceExhaustedError,
  CancelledError,
  AlreadyHeldError,
  InternalError,
} = ERROR_CLASS_BY_NAME;

/** Every error class, by its name (the core's list: `ErrorKind::ALL`). */
export const errorClasses = Object.freeze(ERROR_CLASS_BY_NAME);

/** The stable error codes, by name. */
export const ErrorCode = Object.freeze(Object.fromEntries(Object.keys(ERROR_CLASSES).map((code) => [code, code])));

/** The error class of a code (InternalError for an unknown one). */
export function errorClassFor(code) {
  return ERROR_CLASSES[code] ?? InternalError;
}

const NATIVE_ERROR = native.nativeErrorName();

/** Whether `err` was thrown by the wasm layer for a core error. */
function isNative(err) {
  return err instanceof Error && err.name === NATIVE_ERROR && typeof err.code === 'string';
}

/**
 * What a failed `fetch` most often means here: the node is down, or it does
 * not serve gRPC-web to this origin (the browser hides which).
 */
const FETCH_HINT =
  ' (no gRPC-web answer: is the node up, started with --web-origin ORIGIN allowing this page, or `tenure dev --web`?)';

/** A core error of the wasm layer as its TenureError subclass (the code prefix dropped). */
function fromCore(err) {
  let message = err.message.startsWith(`${err.code}: `) ? err.message.slice(err.code.length + 2) : err.message;
  if (err.code === 'UNAVAILABLE' && /fetch/i.test(message)) message += FETCH_HINT;
  return new (errorClassFor(err.code))(message, { cause: err });
}

/**
 * Turns anything the wasm layer threw into a TenureError: its core errors by
 * their code; a TypeError (a value of the wrong type) as InvalidArgumentError;
 * anything else (a trap, a bug) as InternalError.
 */
function fromNative(err) {
  if (err instanceof TenureError) return err;
  if (isNative(err)) return fromCore(err);
  const message = err && typeof err.message === 'string' ? err.message : String(err);
  if (err instanceof TypeError) return new InvalidArgumentError(message, { cause: err });
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
export const LostReason = codeEnum(native.lostReasons());

/** Health of a session as the client sees it (the core's `SessionState::ALL`). */
export const SessionState = codeEnum(native.sessionStates());

/** Exclusive or shared (the core's `LockMode::ALL`). */
export const LockMode = codeEnum(native.lockModes());

/** The header that carries a fence: `tenure-fence`. */
export const FENCE_HEADER = native.fenceHeader();

/** Most names in one Client#acquireAll (the server's limit). */
export const MAX_ACQUIRE_ALL = native.maxAcquireAll();

// ---------------------------------------------------------------------------
// Argument checks (the wasm glue does not check types: a number passed as a
// string would be converted, so the wrapper checks before calling it)

const CLIENT_OPTION_KEYS = new Set([
  'ttlMs', 'keepaliveIntervalMs', 'drift', 'marginMs', 'callTimeoutMs', 'attemptTimeoutMs',
  'initialBackoffMs', 'maxBackoffMs', 'label', 'token', 'tls', 'endpointsOnly',
]);

function objectArg(what, value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`${what} must be an object`);
  }
  return value;
}

function stringArg(what, value) {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
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

/** The endpoints as a list of `host:port` strings (or one comma-separated string). */
function endpointList(endpoints) {
  const list = typeof endpoints === 'string' ? [endpoints] : endpoints;
  if (!Array.isArray(list) || !list.every((e) => typeof e === 'string')) {
    throw new InvalidArgumentError('endpoints must be a string or an array of strings');
  }
  return list;
}

// Durations are checked once, by the wasm layer (the core's rules).
function acquireOptions(opts) {
  const out = { shared: Boolean(opts.shared) };
  if (opts.timeout !== undefined && opts.timeout !== null) out.waitMs = opts.timeout;
  if (opts.lockDelayMs !== undefined && opts.lockDelayMs !== null) out.lockDelayMs = opts.lockDelayMs;
  if (opts.value !== undefined && opts.value !== null) out.value = opts.value;
  if (opts.permitLimit !== undefined) {
    out.permits = opts.permits;
    out.permitLimit = opts.permitLimit;
  }
  return out;
}

/** A permit count as the wasm layer takes it (u32); the core checks the range. */
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

function signalArg(signal) {
  if (signal === undefined || signal === null) return undefined;
  if (typeof AbortSignal === 'undefined' || !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('signal must be an AbortSignal');
  }
  return signal;
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
export class Fence {
  constructor(lock, token) {
    const checked = toBigInt('fence token', token);
    callSync(() => native.checkFence(stringArg('fence lock', lock), checked));
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
    const data = callSync(() => native.parseFence(stringArg('fence header value', value)));
    return new Fence(data.lock, data.token);
  }
}

/**
 * The storage side of fencing: remembers the highest token seen per lock and
 * rejects lower ones with LockLostError. Equal tokens pass.
 */
export class FenceValidator {
  #native = new native.NativeFenceValidator();

  /** Accepts `fence` if its token is not below the highest seen; else throws LockLostError. */
  check(fence) {
    const f = fence instanceof Fence ? fence : new Fence(fence?.lock, fence?.token);
    callSync(() => this.#native.check(f.lock, f.token));
  }

  /** Parses a header value, checks it and returns the fence. */
  checkHeader(value) {
    const data = callSync(() => this.#native.checkHeader(stringArg('fence header value', value)));
    return new Fence(data.lock, data.token);
  }

  /** The highest token seen for `lock`, or null. */
  highest(lock) {
    return callSync(() => this.#native.highest(stringArg('lock', lock))) ?? null;
  }
}

/** Checks a lock name the way the server does; throws InvalidArgumentError. */
export function validateLockName(name) {
  callSync(() => native.validateLockName(stringArg('lock name', name)));
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
export class Lock {
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

  /** A promise resolving with the reason when the lock is lost or released (created on first access). */
  get lost() {
    this.#lost ??= callAsync(() => this.#native.lost());
    return this.#lost;
  }

  /** Calls `callback(reason)` once when the lock is lost or released (soon, if it already is). */
  onLost(callback) {
    if (typeof callback !== 'function') throw new InvalidArgumentError('callback must be a function');
    this.lost.then((reason) => callback(reason), () => {});
  }

  /**
   * Replaces the value kept with this grant (shown by describe, listLocks and
   * watches as `value_changed`): how an elected leader proclaims a new value.
   * LockLostError if the lock is no longer held.
   */
  async setValue(value) {
    stringArg('value', value);
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
   * lost or released first without a request (created on the first call).
   */
  waitRevokeRequested() {
    this.#revokeRequested ??= callAsync(() => this.#native.revokeRequested());
    return this.#revokeRequested;
  }

  /** Calls `callback()` once when someone asks this holder to release the lock (soon, if someone already has). */
  onRevokeRequested(callback) {
    if (typeof callback !== 'function') throw new InvalidArgumentError('callback must be a function');
    this.waitRevokeRequested().then((asked) => asked && callback(), () => {});
  }

  /** Releases the lock. Idempotent: releasing a released or lost lock resolves. */
  async release() {
    await callAsync(() => this.#native.release());
  }

  /**
   * Runs `work(lock, signal)` while the lock is held: the core's `Lock::run`.
   * If the lock is lost first, `signal` aborts and the promise rejects with
   * LockLostError (honour the signal to stop the work). Does not release the lock.
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

// ---------------------------------------------------------------------------
// The host: a page that is hidden, frozen or resumed may have been paused or
// throttled, so every live client re-checks its session at once (the core's
// Client::host_paused: Jeopardy and a renewal now, or Expired if the local
// expiry passed meanwhile). Workers have no such events: a page that runs the
// client in a Worker forwards them with client.hostPaused().

/** Live clients, weakly held so that an unclosed one can still be collected. */
const liveClients = new Set();
let hostListeners = false;

function hostPausedAll() {
  for (const ref of liveClients) {
    const client = ref.deref();
    if (client) client.hostPaused().catch(() => {});
    else liveClients.delete(ref);
  }
}

function watchHost(client) {
  const ref = typeof WeakRef === 'function' ? new WeakRef(client) : { deref: () => client };
  liveClients.add(ref);
  if (!hostListeners && typeof document === 'object' && document && typeof document.addEventListener === 'function') {
    hostListeners = true;
    document.addEventListener('visibilitychange', hostPausedAll);
    if ('onfreeze' in document) document.addEventListener('freeze', hostPausedAll);
    if ('onresume' in document) document.addEventListener('resume', hostPausedAll);
    // A page restored from the back/forward cache was frozen meanwhile.
    globalThis.addEventListener?.('pageshow', (event) => {
      if (event.persisted) hostPausedAll();
    });
  }
  return ref;
}

// ---------------------------------------------------------------------------
// Client

/** A session-state subscription; cancel() ends it. */
export class Subscription {
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
    this.#native.free();
    this.#native = null;
    this.#onClose(this);
  }

  /** Ends the subscription: `using sub = client.onSessionState(...)`. */
  [dispose]() {
    this.cancel();
  }
}

/** A CancelToken that fires when `signal` aborts; `off()` detaches it. */
function cancelOn(signal) {
  const token = new native.CancelToken();
  if (!signal) return { token, off() {} };
  const onAbort = () => token.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return { token, off: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * Runs a native acquire, `start(token)`, and wraps its lock (`wrap`: what it
 * got, e.g. an acquireAll's locks): when `signal` aborts, the token withdraws
 * the waiting acquire from the server's queue (what an acquireAll try got is
 * released) and the promise rejects with CancelledError (`cause`: the
 * signal's reason).
 */
async function acquireLock(what, signal, start, wrap = (nativeLock) => new Lock(INTERNAL, nativeLock)) {
  const aborted = () => new CancelledError(`${what} was aborted`, { cause: signal.reason });
  if (signal?.aborted) throw aborted();
  const cancel = cancelOn(signal);
  try {
    return wrap(await start(cancel.token));
  } catch (e) {
    const err = fromNative(e);
    if (err instanceof CancelledError && signal?.aborted) throw aborted();
    throw err;
  } finally {
    cancel.off();
  }
}

// ---------------------------------------------------------------------------
// Watches and elections (the Node binding's API). A watch is one
// server-streaming gRPC-web call at a time, its `fetch` response read as it
// arrives; close() aborts it once no next() reads it.

/**
 * Watcher and Observer: next() waits for the next item, close() ends them.
 * `for await` ends once closed, and closes when the loop is left early
 * (break, return, throw); an error of next() ends the loop unclosed.
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

  /** Ends it: a pending next() and every later one reject with CancelledError. */
  close() {
    this.#native.close();
  }

  [Symbol.asyncIterator]() {
    const ended = { value: undefined, done: true };
    const step = (value) => ({ value, done: false });
    const stop = (e) => {
      if (e instanceof CancelledError) return ended;
      throw e;
    };
    return {
      next: () => this.next().then(step, stop),
      return: async () => (this.close(), ended),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /** Closes it (`using`). */
  [dispose]() {
    this.close();
  }

  /** Closes it (`await using`). */
  async [asyncDispose]() {
    this.close();
  }
}

/** The changes of every lock under a prefix, from Client#watch (batches, or a reset with the state). */
export class Watcher extends Feed {
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

  /** The revision of the last batch returned (or the start one), to resume from. */
  get revision() {
    return this.#native.revision;
  }
}

/** An election's leaders, from Election#observe: the current one, then one per change (null: nobody leads). */
export class Observer extends Feed {
  constructor(key, nativeObserver) {
    if (key !== INTERNAL) throw new TypeError('Observer is created by Election#observe');
    super(nativeObserver);
  }
}

/** Leader election on the lock `name`, from Client#election; the leadership is a Lock. */
export class Election {
  #native;

  constructor(key, nativeElection) {
    if (key !== INTERNAL) throw new TypeError('use client.election()');
    this.#native = nativeElection;
    /** The election's name (a lock name). */
    this.name = nativeElection.name;
    Object.freeze(this);
  }

  /** Waits up to `timeout` ms (required; FIFO) to lead with `value`; `signal` withdraws it. */
  async campaign(value, options) {
    const { timeout, signal } = waitingOptions('campaign()', options);
    stringArg('value', value);
    return acquireLock(`campaign for ${JSON.stringify(this.name)}`, signalArg(signal), (token) =>
      this.#native.campaign(value, timeout, token));
  }

  /** Leads at once if nobody does; LockHeldError otherwise. */
  async tryCampaign(value) {
    stringArg('value', value);
    return acquireLock('tryCampaign', undefined, (token) => this.#native.campaign(value, undefined, token));
  }

  /** The current leader, or null. */
  async leader() {
    return (await callAsync(() => this.#native.leader())) ?? null;
  }

  /** The leader changes, starting with the current leader. No network until the first next(). */
  observe() {
    return new Observer(INTERNAL, this.#native.observe());
  }
}

/**
 * A connection to a tenure cluster over gRPC-web (the nodes must serve it:
 * `tenure server --web-origin ORIGIN`, or `tenure dev --web`). It holds one
 * session at a time (opened by connect(), or by the first acquire of a lazy
 * client, and again after one expires). Close it when done: close() ends the
 * session and releases its locks.
 */
/**
 * A counting semaphore of `permits` permits, from Client.semaphore(); see the
 * Node binding's Semaphore (the same API). Each acquire returns a Lock with its
 * own owner id and fencing token.
 */
export class Semaphore {
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

export class Client {
  #native;
  #subs = new Set();
  #host;

  constructor(key, nativeClient) {
    if (key !== INTERNAL) throw new TypeError('use Client.connect() or Client.connectLazy()');
    this.#native = nativeClient;
    this.#host = watchHost(this);
  }

  /** Connects to the cluster at `endpoints` and opens a session. */
  static async connect(endpoints, options) {
    const list = endpointList(endpoints);
    const opts = clientOptions(options);
    return new Client(INTERNAL, await callAsync(() => native.connect(list, opts)));
  }

  /** Like connect(), but opens no session until the first acquire (for admin tools and dashboards). */
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
    stringArg('lock name', name);
    const opts = objectArg('options', options);
    const nativeOpts = acquireOptions(opts);
    return acquireLock(`acquire of ${JSON.stringify(name)}`, signalArg(opts.signal), (token) =>
      this.#native.acquire(name, nativeOpts, token));
  }

  /** Waits up to `timeout` ms (required) for the lock (exclusive, or shared with `shared: true`). */
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
    names.forEach((name) => stringArg('lock name', name));
    const opts = objectArg('options', options);
    const nativeOpts = acquireOptions(opts);
    const wrap = (locks) => locks.map((l) => new Lock(INTERNAL, l));
    return acquireLock(`acquireAll of ${JSON.stringify(names)}`, signalArg(opts.signal), (token) =>
      this.#native.acquireAll(names, nativeOpts, token), wrap);
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
   * Watches every lock whose name starts with `prefix` ('' for all), from
   * `startRevision` (0, the default: the state first). See Watcher.
   */
  watch(prefix = '', options) {
    stringArg('prefix', prefix);
    const start = toBigInt('startRevision', objectArg('options', options).startRevision ?? 0);
    return new Watcher(INTERNAL, callSync(() => this.#native.watch(prefix, start)));
  }

  /** The election `name` (a lock of that name): campaign, leader, observe. No network. */
  election(name) {
    stringArg('election name', name);
    return new Election(INTERNAL, callSync(() => this.#native.election(name)));
  }

  /**
   * The core's `with_lock`: acquires `name` like lock() (a `timeout` is
   * required), runs `work(lock, signal)` and releases the lock. If the lock is
   * lost during the work, `signal` aborts at once and the promise rejects with
   * LockLostError; if it is lost before the release, LockLostError too. The
   * core's errors come before the work's own, which is passed through as
   * thrown. `options.signal` aborts the acquire or the work (CancelledError).
   * Also accepted as `withLock(name, options, work)`.
   */
  async withLock(name, work, options) {
    if (typeof work !== 'function' && typeof options === 'function') [work, options] = [options, work];
    stringArg('lock name', name);
    if (typeof work !== 'function') throw new InvalidArgumentError('work must be a function');
    const opts = waitingOptions('withLock()', options);
    const signal = signalArg(opts.signal);
    const aborted = () =>
      new CancelledError(`withLock of ${JSON.stringify(name)} was aborted`, { cause: signal.reason });
    if (signal?.aborted) throw aborted();
    const controller = new AbortController();
    const onDropped = () => {
      controller.abort(signal?.aborted ? aborted() : new LockLostError(`lock ${JSON.stringify(name)} lost`));
    };
    const cancel = cancelOn(signal);
    try {
      return await this.#native.withLock(
        name,
        acquireOptions(opts),
        (nativeLock) => work(new Lock(INTERNAL, nativeLock), controller.signal),
        onDropped,
        cancel.token,
      );
    } catch (e) {
      if (!isNative(e)) throw e; // the work's own error
      const err = fromCore(e);
      if (err instanceof CancelledError && signal?.aborted) throw aborted();
      throw err;
    } finally {
      cancel.off();
    }
  }

  /** The current session's id, or null if none is open. */
  async sessionId() {
    return (await callAsync(() => this.#native.sessionId())) ?? null;
  }

  /** The session state: `'healthy'`, `'jeopardy'` or `'expired'` (also when there is none). */
  get sessionState() {
    return this.#native.sessionState();
  }

  /** Calls `callback(state)` with every change of the session state until the subscription is cancelled. */
  onSessionState(callback) {
    if (typeof callback !== 'function') throw new InvalidArgumentError('callback must be a function');
    const nativeSub = callSync(() => this.#native.onSessionState((state) => callback(state)));
    const sub = new Subscription(INTERNAL, nativeSub, (s) => this.#subs.delete(s));
    this.#subs.add(sub);
    return sub;
  }

  /**
   * Tells the client its host may have paused or throttled it (a hidden or
   * frozen page, a resumed machine): the session is re-checked at once
   * (Jeopardy and an immediate renewal, or Expired if its local expiry
   * passed). Pages call it by themselves; a Worker's client needs the page
   * to forward `visibilitychange`.
   */
  async hostPaused() {
    await callAsync(() => this.#native.hostPaused());
  }

  /**
   * Admin: frees `name` only if `ownerId` still holds it (compare-and-swap),
   * handing it to the next waiter. Returns the grants made. NotHolderError if
   * that grant is no longer current.
   */
  async forceRelease(name, ownerId, reason = '') {
    stringArg('lock name', name);
    stringArg('ownerId', ownerId);
    stringArg('reason', reason);
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
    stringArg('lock name', name);
    const opts = objectArg('options', options);
    const ownerId = opts.ownerId ?? undefined;
    if (ownerId !== undefined) stringArg('ownerId', ownerId);
    const reason = stringArg('reason', opts.reason ?? '');
    return callAsync(() => this.#native.requestRelease(name, ownerId, reason));
  }

  /** Admin: blacklists a session (never renewed again; expires at its deadline). Resolves with the ms left. */
  async blacklist(sessionId, reason = '') {
    const id = toBigInt('sessionId', sessionId);
    stringArg('reason', reason);
    return callAsync(() => this.#native.blacklist(id, reason));
  }

  /** Reads one lock: holders and waiters (null if nobody holds or waits for it). */
  async describe(name) {
    stringArg('lock name', name);
    return (await callAsync(() => this.#native.describe(name))) ?? null;
  }

  /** Lists locks whose names start with `prefix` (all by default). */
  async listLocks(prefix = '') {
    stringArg('prefix', prefix);
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
    if (!Number.isInteger(limit) || limit < 0 || limit > 0xffffffff) {
      throw new InvalidArgumentError('limit must be a non-negative integer');
    }
    return callAsync(() => this.#native.audit(limit));
  }

  /**
   * This client's counters per lock-name prefix (a name's first segment with
   * its slash): acquires granted and failed, releases, losses, total wait
   * and hold time. No network.
   */
  metrics() {
    return callSync(() => this.#native.metrics());
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
    liveClients.delete(this.#host);
    await callAsync(() => this.#native.close());
  }

  /** Closes the client: `await using client = await Client.connect(...)`. */
  [asyncDispose]() {
    return this.close();
  }
}
