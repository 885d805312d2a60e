/**
 * tenure-wasm: the WebAssembly client of the tenure distributed lock service,
 * for browsers (pages and Workers), Node and Deno. The Rust client core,
 * compiled to WebAssembly, speaks gRPC-web over `fetch` to nodes started with
 * `tenure server --web-origin ORIGIN` (or `tenure dev --web`).
 *
 * The API is the Node binding's (`tenure`) where the platform allows. All
 * durations are milliseconds (`number`). Fencing tokens are `bigint` (64-bit,
 * never rounded). Session ids and other counters are `number`. Importing the
 * module loads the .wasm (top-level await).
 *
 * @example
 * ```ts
 * import { Client, FENCE_HEADER } from 'tenure-wasm';
 * const client = await Client.connect('127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102');
 * const lock = await client.lock('jobs/nightly', { timeout: 10_000 });
 * try {
 *   await fetch('/api/write', { method: 'POST', headers: { [FENCE_HEADER]: lock.fence.headerValue() } });
 * } finally {
 *   await lock.release();
 *   await client.close();
 * }
 * ```
 * @packageDocumentation
 */

// ---------------------------------------------------------------------------
// Constants

import type {
  AuditRecord,
  ClusterStatus,
  GrantInfo,
  HolderInfo,
  LockInfo,
  MemberInfo,
  NativeClientOptions,
  PrefixMetrics,
  SessionInfo,
  FenceData,
  Leader,
  WaiterInfo,
  WatchBatch,
  WatchEvent,
} from './pkg/tenure_wasm.js';

/** Why a lock stopped being held. */
export type LostReason =
  | 'released'
  | 'session_expired'
  | 'session_blacklisted'
  | 'force_released'
  | 'client_closed';

/** The lost reasons by name. */
export declare const LostReason: Readonly<{
  /** Released by its holder. */
  RELEASED: 'released';
  /** The session expired (locally or on the server). */
  SESSION_EXPIRED: 'session_expired';
  /** The session was blacklisted by an administrator. */
  SESSION_BLACKLISTED: 'session_blacklisted';
  /** An administrator force-released this grant. */
  FORCE_RELEASED: 'force_released';
  /** The client was closed. */
  CLIENT_CLOSED: 'client_closed';
}>;

/**
 * Health of a session as the client sees it: `healthy` (the last renewal
 * succeeded), `jeopardy` (renewals failing, locks still held until the local
 * expiry), `expired` (final; also reported when no session is open).
 */
export type SessionState = 'healthy' | 'jeopardy' | 'expired';

/** The session states by name. */
export declare const SessionState: Readonly<{
  /** The last renewal succeeded. */
  HEALTHY: 'healthy';
  /** Renewals are failing; locks are still held until the local expiry. */
  JEOPARDY: 'jeopardy';
  /** The session ended (or none is open). */
  EXPIRED: 'expired';
}>;

/** Lock mode. */
export type LockMode = 'exclusive' | 'shared' | 'permits';
/** The lock modes by name (the core's `LockMode::ALL`). */
export declare const LockMode: Readonly<{
  /** One holder at a time. */
  EXCLUSIVE: 'exclusive';
  /** Many shared holders, no exclusive one. */
  SHARED: 'shared';
  /** Permits of a counting semaphore ({@link Client.semaphore}). */
  PERMITS: 'permits';
}>;

/** The header that carries a fence: `'tenure-fence'`. */
export declare const FENCE_HEADER: string;

/** Most names in one {@link Client.acquireAll} (the server's limit, 64). */
export declare const MAX_ACQUIRE_ALL: number;

/**
 * `Symbol.asyncDispose`, or where it is missing (Node 20, older browsers) the
 * registered symbol `Symbol.for('nodejs.asyncDispose')`. Locks and clients implement it.
 */
export declare const asyncDispose: typeof Symbol.asyncDispose;

/** `Symbol.dispose`, or `Symbol.for('nodejs.dispose')`. Subscriptions implement it. */
export declare const dispose: typeof Symbol.dispose;

// ---------------------------------------------------------------------------
// Errors

/** The stable error codes, shared by every tenure binding. */
export type ErrorCode =
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'LOCK_HELD'
  | 'LOCK_LOST'
  | 'SESSION_EXPIRED'
  | 'SESSION_BLACKLISTED'
  | 'NOT_HOLDER'
  | 'INVALID_ARGUMENT'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'CANCELLED'
  | 'ALREADY_HELD'
  | 'INTERNAL';

/** The error codes by name (`ErrorCode.LOCK_HELD === 'LOCK_HELD'`). */
export declare const ErrorCode: Readonly<{ [K in ErrorCode]: K }>;

/** Base class of every error the client raises. */
export declare class TenureError extends Error {
  /** The stable code of this class (`'INTERNAL'` for the base class). */
  static readonly code: ErrorCode;
  /** Creates an error; `options.cause` is kept as `cause`. */
  constructor(message?: string, options?: ErrorOptions);
  /** The stable error code, e.g. `'LOCK_HELD'`. */
  readonly code: ErrorCode;
}

/** No server could be reached, or none could serve the call in time. */
export declare class UnavailableError extends TenureError {
  /** `'UNAVAILABLE'` */
  static readonly code: 'UNAVAILABLE';
  /** `'UNAVAILABLE'` */
  readonly code: 'UNAVAILABLE';
}

/** A deadline passed (for example a waiting acquire's timeout). */
export declare class TenureTimeoutError extends TenureError {
  /** `'TIMEOUT'` */
  static readonly code: 'TIMEOUT';
  /** `'TIMEOUT'` */
  readonly code: 'TIMEOUT';
}

/** A try-acquire found the lock held. */
export declare class LockHeldError extends TenureError {
  /** `'LOCK_HELD'` */
  static readonly code: 'LOCK_HELD';
  /** `'LOCK_HELD'` */
  readonly code: 'LOCK_HELD';
}

/**
 * The lock is no longer held (session ended, force-released), or a storage
 * rejected a stale fencing token ({@link FenceValidator.check}).
 */
export declare class LockLostError extends TenureError {
  /** `'LOCK_LOST'` */
  static readonly code: 'LOCK_LOST';
  /** `'LOCK_LOST'` */
  readonly code: 'LOCK_LOST';
}

/** The session expired (or was closed). */
export declare class SessionExpiredError extends TenureError {
  /** `'SESSION_EXPIRED'` */
  static readonly code: 'SESSION_EXPIRED';
  /** `'SESSION_EXPIRED'` */
  readonly code: 'SESSION_EXPIRED';
}

/** The session was blacklisted by an administrator. */
export declare class SessionBlacklistedError extends TenureError {
  /** `'SESSION_BLACKLISTED'` */
  static readonly code: 'SESSION_BLACKLISTED';
  /** `'SESSION_BLACKLISTED'` */
  readonly code: 'SESSION_BLACKLISTED';
}

/** The grant named is not current (force-release of a stale owner id). */
export declare class NotHolderError extends TenureError {
  /** `'NOT_HOLDER'` */
  static readonly code: 'NOT_HOLDER';
  /** `'NOT_HOLDER'` */
  readonly code: 'NOT_HOLDER';
}

/** The request was malformed (bad name, option or argument); nothing changed. */
export declare class InvalidArgumentError extends TenureError {
  /** `'INVALID_ARGUMENT'` */
  static readonly code: 'INVALID_ARGUMENT';
  /** `'INVALID_ARGUMENT'` */
  readonly code: 'INVALID_ARGUMENT';
}

/** The caller may not do this (bad or missing token or certificate). */
export declare class PermissionDeniedError extends TenureError {
  /** `'PERMISSION_DENIED'` */
  static readonly code: 'PERMISSION_DENIED';
  /** `'PERMISSION_DENIED'` */
  readonly code: 'PERMISSION_DENIED';
}

/** A server limit was reached. */
export declare class ResourceExhaustedError extends TenureError {
  /** `'RESOURCE_EXHAUSTED'` */
  static readonly code: 'RESOURCE_EXHAUSTED';
  /** `'RESOURCE_EXHAUSTED'` */
  readonly code: 'RESOURCE_EXHAUSTED';
}

/** The call was cancelled (an AbortSignal fired; `cause` is the signal's reason). */
export declare class CancelledError extends TenureError {
  /** `'CANCELLED'` */
  static readonly code: 'CANCELLED';
  /** `'CANCELLED'` */
  readonly code: 'CANCELLED';
}

/**
 * This client's session already holds the lock: a second acquire fails at once
 * instead of waiting behind itself (no silent reentrancy).
 */
export declare class AlreadyHeldError extends TenureError {
  /** `'ALREADY_HELD'` */
  static readonly code: 'ALREADY_HELD';
  /** `'ALREADY_HELD'` */
  readonly code: 'ALREADY_HELD';
}

/** A bug or an unexpected reply. */
export declare class InternalError extends TenureError {
  /** `'INTERNAL'` */
  static readonly code: 'INTERNAL';
  /** `'INTERNAL'` */
  readonly code: 'INTERNAL';
}

/** The error class of a code (InternalError for an unknown one). */
export declare function errorClassFor(code: string): typeof TenureError;

/** Every error class, by its name (built from the core's list of kinds). */
export declare const errorClasses: Readonly<Record<string, typeof TenureError>>;

// ---------------------------------------------------------------------------
// Options

/**
 * How a client connects and keeps its session: the wasm layer's options,
 * generated from the Rust layer (durations in ms; every default is the
 * core's). A web page has no environment and no certificate files: `tls: true`
 * dials `https` (the browser's TLS and trust store) and `token` authenticates.
 */
export type ClientOptions = NativeClientOptions;

/** How to acquire a lock. */
export interface AcquireOptions {
  /**
   * Wait up to this many ms in the server's FIFO queue (at most one hour).
   * For {@link Client.acquire}: absent = try once. {@link Client.lock} and
   * {@link Client.withLock} require it (no default wait, as in every language).
   */
  timeout?: number;
  /** Shared mode (many shared holders, no exclusive one). Default exclusive. */
  shared?: boolean;
  /** Lock-delay in ms: after this grant's session EXPIRES, nobody gets the lock for this long. */
  lockDelayMs?: number;
  /**
   * A small value stored with the grant and shown by describe and listLocks
   * (the holder's address, a job id): at most 1,024 bytes, no control
   * characters but tab.
   */
  value?: string;
  /**
   * Aborts a waiting acquire: it is withdrawn from the server's queue and
   * rejects with CancelledError. In {@link Client.withLock} it also aborts the
   * work (the lock is then released).
   */
  signal?: AbortSignal;
}

/** Options of {@link Client.tryLock} (no waiting). */
export type TryLockOptions = Omit<AcquireOptions, 'timeout'>;

/**
 * Options of {@link Client.acquireAll}: a lock's options, for every grant
 * (`shared`, `lockDelayMs` and `value` apply to each name), but waiting is a
 * retry of the whole set, not a place in the locks' FIFO queues.
 */
export interface AcquireAllOptions extends Omit<AcquireOptions, 'timeout' | 'signal'> {
  /**
   * Try again, with jittered backoff, up to this many ms (TenureTimeoutError
   * after); absent = one try (LockHeldError if any name is taken). Single
   * acquires of the names may get them first meanwhile.
   */
  timeout?: number;
  /** Aborts it: rejects with CancelledError, and what a try in flight got is released. */
  signal?: AbortSignal;
}

/** Options of {@link Semaphore.acquire}: a lock's options without `shared`, and a count. */
export interface PermitOptions extends Omit<AcquireOptions, 'shared'> {
  /** How many permits (default 1, at most the semaphore's). */
  count?: number;
}

/** Options of {@link Client.requestRelease}. */
export interface RequestReleaseOptions {
  /** Ask only this grant (32 hex digits); absent = every holder of the lock. */
  ownerId?: string;
  /** Why, for the audit log. Default empty. */
  reason?: string;
}

/**
 * A counting semaphore, from {@link Client.semaphore}. Each acquire returns a
 * {@link Lock} with its own owner id and fencing token; grants are FIFO while
 * the permits held stay within {@link Semaphore.permits}, and go back when
 * released or when the holder's session ends. The number of permits is fixed
 * while anyone holds or waits for the name (InvalidArgumentError otherwise).
 */
export declare class Semaphore {
  private constructor();
  /** The semaphore's name (a lock name). */
  readonly name: string;
  /** Its number of permits. */
  readonly permits: number;
  /** Waits up to `timeout` ms (required) for `count` permits (default 1); TenureTimeoutError after. */
  acquire(options: PermitOptions & { timeout: number }): Promise<Lock>;
  /** Takes `count` permits (default 1) if they are free now; LockHeldError if not. */
  tryAcquire(options?: Omit<PermitOptions, 'timeout'>): Promise<Lock>;
}

// ---------------------------------------------------------------------------
// Records: generated from the core's table by the wasm layer (pkg/tenure_wasm.d.ts), not kept here.

export type { AuditRecord, ClusterStatus, FenceData, GrantInfo, HolderInfo, Leader, LockInfo, MemberInfo, PrefixMetrics, SessionInfo, WaiterInfo, WatchBatch, WatchEvent };

/** What happened to a lock, in a {@link WatchEvent}. */
export type LockChange = WatchEvent['change'];

// ---------------------------------------------------------------------------
// Watches and elections (the Node binding's API; see README.md)

/**
 * What {@link Watcher} and {@link Observer} share: `next()` waits for the next
 * item (CancelledError once closed); `for await` ends when closed, and closes
 * when the loop is left early; `using`/`await using` close.
 */
export interface Feed<T> extends AsyncIterable<T>, AsyncDisposable, Disposable {
  next(): Promise<T>;
  /** A pending `next()` and every later one reject with CancelledError; the stream's `fetch` is aborted. */
  close(): void;
  [Symbol.asyncIterator](): AsyncIterator<T, undefined>;
}

/**
 * The changes of every lock under a prefix, from {@link Client.watch}, as one
 * server-streaming gRPC-web call: batches of `events` in revision order, or
 * with `reset` the state (`locks`), first and whenever the server's bounded
 * backlog no longer has every change since {@link Watcher.revision}.
 * Reconnects and failovers resume from {@link Watcher.revision}.
 */
export declare class Watcher {
  private constructor();
  /** The prefix watched. */
  readonly prefix: string;
  /** The revision of the last batch returned (or the start one): `startRevision` to resume from. */
  readonly revision: number;
}
export interface Watcher extends Feed<WatchBatch> {}

/**
 * The leaders of an election, from {@link Election.observe}: the current one
 * (null if nobody leads), then one after every change, `null` when the leader
 * goes away (resigned, expired, force-released, client closed).
 */
export declare class Observer {
  private constructor();
}
export interface Observer extends Feed<Leader | null> {}

/** Options of {@link Client.watch}. */
export interface WatchOptions {
  /** 0 (default): the state first; a batch's revision: the changes after it (bigint, safe integer or decimal string). */
  startRevision?: number | bigint | string;
}

/**
 * Leader election on the lock `name`, from {@link Client.election}. The
 * leadership is a {@link Lock}: token, `lost`; `setValue` proclaims,
 * `release()` resigns.
 */
export declare class Election {
  private constructor();
  /** The election's name (a lock name). */
  readonly name: string;
  /**
   * Waits up to `timeout` ms (required; FIFO) to lead with `value`;
   * TenureTimeoutError after, AlreadyHeldError if this client leads;
   * `signal` withdraws the campaign (CancelledError).
   */
  campaign(value: string, options: { timeout: number; signal?: AbortSignal }): Promise<Lock>;
  /** Leads at once if nobody does; LockHeldError otherwise. */
  tryCampaign(value: string): Promise<Lock>;
  /** The current leader, or null. */
  leader(): Promise<Leader | null>;
  /** The leader changes, starting with the current leader; no network until the first `next()`. */
  observe(): Observer;
}

// ---------------------------------------------------------------------------
// Fencing

/**
 * A lock name and a fencing token: what a holder sends to storage with every
 * write, as the header `tenure-fence: <lock>=<token>`.
 */
export declare class Fence {
  /** A fence for `lock` at `token` (a bigint, a safe integer or a decimal string). */
  constructor(lock: string, token: bigint | number | string);
  /** The lock (resource) name. */
  readonly lock: string;
  /** The fencing token. */
  readonly token: bigint;
  /** The header value, `<lock>=<token>` (odd bytes of the name percent-encoded). */
  headerValue(): string;
  /** Same as {@link Fence.headerValue}. */
  toString(): string;
  /** JSON form, with the token as a decimal string. */
  toJSON(): { lock: string; token: string };
  /** Parses a header value made by {@link Fence.headerValue}; InvalidArgumentError if malformed. */
  static parse(value: string): Fence;
}

/**
 * The storage side of fencing: remembers the highest token seen per lock and
 * rejects lower ones. Equal tokens pass (one holder writes many times).
 */
export declare class FenceValidator {
  /** An empty validator. */
  constructor();
  /** Accepts `fence` if its token is not below the highest seen (and records it); else throws LockLostError. */
  check(fence: Fence | { lock: string; token: bigint | number | string }): void;
  /** Parses a header value, checks it and returns the fence. */
  checkHeader(value: string): Fence;
  /** The highest token seen for `lock`, or null. */
  highest(lock: string): bigint | null;
}

/** Checks a lock name the way the server does (1..=256 bytes, no control characters); throws InvalidArgumentError. */
export declare function validateLockName(name: string): void;

// ---------------------------------------------------------------------------
// Lock and client

/**
 * A held lock (one grant). Release it with {@link Lock.release}, or with
 * `await using` (TypeScript 5.2+) through `Symbol.asyncDispose`. A lock that is
 * garbage-collected unreleased is released in the background (where the host
 * has FinalizationRegistry).
 */
export declare class Lock implements AsyncDisposable {
  private constructor();
  /** The lock's name. */
  readonly name: string;
  /** The fencing token of this grant: greater than every token granted before. */
  readonly fencingToken: bigint;
  /** The fence to pass to storage (`tenure-fence: <name>=<token>`). */
  readonly fence: Fence;
  /** The grant's unique owner id (32 hex digits), for force-release. */
  readonly ownerId: string;
  /** Exclusive or shared. */
  readonly mode: LockMode;
  /** The id of the session holding it. */
  readonly sessionId: number;
  /** Why the lock is no longer held, or null while it is. */
  readonly lostReason: LostReason | null;
  /**
   * Resolves with the reason when the lock is lost or released (also at the
   * session's local expiry if no renewal came). Created on first access.
   */
  readonly lost: Promise<LostReason>;
  /** Whether the lock is still held, judged locally (no network). */
  isHeld(): boolean;
  /** Milliseconds the lock is certainly held without a further renewal (0 once lost). */
  remaining(): number;
  /** Calls `callback(reason)` once when the lock is lost or released (soon, if it already is). */
  onLost(callback: (reason: LostReason) => void): void;
  /**
   * Replaces the value kept with this grant (shown by describe and watches as
   * `value_changed`; a leader proclaims this way). LockLostError if no longer held.
   */
  setValue(value: string): Promise<void>;
  /**
   * Whether someone asked this holder to release the lock
   * ({@link Client.requestRelease}). Advisory: the lock stays held until the
   * holder releases it (or loses it).
   */
  readonly revokeRequested: boolean;
  /**
   * Resolves with `true` when someone asks this holder to release the lock (it
   * arrives with the next `Renew`), or with `false` if the lock is lost or
   * released first without a request. Created on the first call.
   */
  waitRevokeRequested(): Promise<boolean>;
  /**
   * Calls `callback()` once when someone asks this holder to release the lock
   * (soon, if someone already has). Advisory: finish the work and
   * {@link Lock.release}.
   */
  onRevokeRequested(callback: () => void): void;
  /** Releases the lock. Idempotent: releasing a released or lost lock resolves. */
  release(): Promise<void>;
  /**
   * Runs `work(lock, signal)` while the lock is held. If the lock is lost first,
   * `signal` aborts and the promise rejects with LockLostError (honour the
   * signal to stop the work). Does not release the lock.
   */
  run<T>(work: (lock: Lock, signal: AbortSignal) => T | PromiseLike<T>): Promise<T>;
  /**
   * Releases the lock at the end of `await using`, and rejects with
   * LockLostError if it was lost before (the core's `Lock::finish`): work done
   * after a loss does not go unnoticed.
   */
  [Symbol.asyncDispose](): Promise<void>;
  /** A short description for logs. */
  toString(): string;
}

/** A session-state subscription. */
export declare class Subscription implements Disposable {
  private constructor();
  /** Ends the subscription (idempotent). */
  cancel(): void;
  /** Ends the subscription (for `using`). */
  [Symbol.dispose](): void;
}

/**
 * A connection to a tenure cluster over gRPC-web. It holds one session at a
 * time (opened by {@link Client.connect}, or by the first acquire of a lazy
 * client, and again after one expires). Close it when done: close() ends the
 * session at once so its locks pass on (in Node, an open client's timers keep
 * the process alive). In a page, hiding, freezing and resuming the page make
 * every client re-check its session ({@link Client.hostPaused}).
 */
export declare class Client implements AsyncDisposable {
  private constructor();
  /**
   * Connects to the cluster and opens a session. `endpoints`: any members, as
   * `host:port` strings or one comma-separated string.
   */
  static connect(endpoints: string | string[], options?: ClientOptions): Promise<Client>;
  /** Like {@link Client.connect}, but opens no session until the first acquire (for admin tools). */
  static connectLazy(endpoints: string | string[], options?: ClientOptions): Client;
  /**
   * Acquires `name`. With `timeout` waits in the server's FIFO queue up to that
   * long (TenureTimeoutError after); without, tries once (LockHeldError if taken).
   */
  acquire(name: string, options?: AcquireOptions): Promise<Lock>;
  /** Waits up to `options.timeout` ms (required: there is no default wait) for the lock. */
  lock(name: string, options: AcquireOptions & { timeout: number }): Promise<Lock>;
  /** Tries once; LockHeldError if the lock is taken. */
  tryLock(name: string, options?: TryLockOptions): Promise<Lock>;
  /**
   * Acquires every lock of `names` at once, or none: one {@link Lock} per
   * name, in the order given, each with its own fencing token and owner id.
   * Nobody holds some of the locks while waiting for the others, so callers
   * asking for overlapping sets in any order cannot deadlock. Without
   * `timeout`, one try: LockHeldError naming the first lock that is taken
   * (AlreadyHeldError if this client holds one). With it, waits in every
   * name's FIFO queue at once, holding none, until it gets them all or the
   * timeout runs out (TenureTimeoutError); callers naming the same locks in
   * any order cannot deadlock.
   * Exclusive, or shared with `shared: true` (not semaphore permits).
   * InvalidArgumentError for no names, more than {@link MAX_ACQUIRE_ALL}, a
   * name given twice or a bad name. `signal` aborts it with CancelledError,
   * and what a try in flight got is released.
   */
  acquireAll(names: string[], options?: AcquireAllOptions): Promise<Lock[]>;
  /** {@link Client.acquireAll} with one try: LockHeldError if any of the locks is taken. */
  tryAcquireAll(names: string[], options?: Omit<AcquireAllOptions, 'timeout'>): Promise<Lock[]>;
  /**
   * The counting semaphore `name` of `permits` permits (1 to 1,000,000). No
   * network until an acquire.
   */
  semaphore(name: string, permits: number): Semaphore;
  /**
   * Watches every lock whose name starts with `prefix` (`''`: all; read
   * permission needed): see {@link Watcher}. No network until `next()`.
   */
  watch(prefix?: string, options?: WatchOptions): Watcher;
  /** The election `name` (a lock of that name): see {@link Election}. No network. */
  election(name: string): Election;
  /**
   * The core's `with_lock`: acquires `name` like {@link Client.lock}, runs
   * `work(lock, signal)` with it, and releases it. If the lock is lost during
   * the work, `signal` aborts and the promise rejects with LockLostError; if it
   * is lost before the release, LockLostError too.
   */
  withLock<T>(
    name: string,
    work: (lock: Lock, signal: AbortSignal) => T | PromiseLike<T>,
    options: AcquireOptions & { timeout: number },
  ): Promise<T>;
  /** {@link Client.withLock} with the options before the work. */
  withLock<T>(
    name: string,
    options: AcquireOptions & { timeout: number },
    work: (lock: Lock, signal: AbortSignal) => T | PromiseLike<T>,
  ): Promise<T>;
  /** The current session's id, or null if none is open. */
  sessionId(): Promise<number | null>;
  /** The current session state (`'expired'` when none is open). */
  readonly sessionState: SessionState;
  /** Calls `callback(state)` on every change of the session state until the subscription is cancelled. */
  onSessionState(callback: (state: SessionState) => void): Subscription;
  /**
   * Tells the client its host may have paused or throttled it (a hidden or
   * frozen page, a resumed machine): the session is re-checked at once
   * (Jeopardy and an immediate renewal, or Expired if its local expiry
   * passed). Pages do it by themselves on `visibilitychange`, `freeze`,
   * `resume` and a back/forward-cache `pageshow`; a client in a Worker needs
   * the page to forward those.
   */
  hostPaused(): Promise<void>;
  /**
   * Admin: frees `name` only if `ownerId` still holds it (compare-and-swap),
   * handing it to the next waiter. Resolves with the grants made; NotHolderError
   * if that grant is no longer current.
   */
  forceRelease(name: string, ownerId: string, reason?: string): Promise<GrantInfo[]>;
  /**
   * Asks the holders of `name` (only the grant `ownerId`, if given) to release
   * it: each holder learns it with its next renewal
   * ({@link Lock.onRevokeRequested}) and decides. Advisory: frees nothing; for
   * a holder that is gone, use {@link Client.forceRelease}. Needs lock
   * permission on the name. Resolves with the grants asked (empty: nobody held
   * it, or not that grant).
   */
  requestRelease(name: string, options?: RequestReleaseOptions): Promise<GrantInfo[]>;
  /**
   * Admin: blacklists a session: it is never renewed again and expires at its
   * current deadline. Resolves with the ms left until then.
   */
  blacklist(sessionId: number | bigint, reason?: string): Promise<number>;
  /** Reads one lock (null if nobody holds or waits for it). */
  describe(name: string): Promise<LockInfo | null>;
  /** Lists locks whose names start with `prefix` (all by default). */
  listLocks(prefix?: string): Promise<LockInfo[]>;
  /** Lists the cluster's sessions. */
  listSessions(): Promise<SessionInfo[]>;
  /** The cluster status as the leader (or any reachable node) sees it. */
  status(): Promise<ClusterStatus>;
  /** The most recent admin actions, oldest first (at most `limit`, default 100). */
  audit(limit?: number): Promise<AuditRecord[]>;
  /**
   * This client's counters per lock-name prefix (a name's first segment with
   * its slash: `'jobs/'` for `'jobs/nightly'`; `''` for a name without one;
   * `'other'` past 256 prefixes): acquires granted and failed, grants
   * released and lost, total wait and hold time. Synchronous, no network.
   */
  metrics(): PrefixMetrics[];
  /**
   * The same counters in the Prometheus text format (version 0.0.4):
   * `tenure_client_acquires_total` (by prefix and result: `ok` or the error
   * code), `tenure_client_locks_lost_total` (by prefix and reason), and the
   * histograms `tenure_client_acquire_wait_seconds` and
   * `tenure_client_hold_seconds`.
   */
  metricsText(): string;
  /** The endpoints this client was given. */
  readonly endpoints: string[];
  /** Closes the session: its locks pass on at once and are marked lost (`client_closed`). */
  close(): Promise<void>;
  /** Closes the client (for `await using`). */
  [Symbol.asyncDispose](): Promise<void>;
}
