/**
 * A one-shot cancel signal for a waiting acquire. The wrapper cancels it when
 * the caller's AbortSignal fires; the acquire's Rust future is then dropped,
 * which makes the core withdraw the waiting acquire from the server's queue.
 */
export declare class CancelToken {
  /** A token that has not been cancelled. */
  constructor()
  /** Cancels every acquire given this token (idempotent). */
  cancel(): void
}

/** A connection to a tenure cluster with one session at a time. */
export declare class NativeClient {
  /**
   * Acquires `name`. With `waitMs` waits in the server's FIFO queue; without,
   * fails at once with LOCK_HELD. If `cancel` fires first, the acquire is
   * withdrawn and the promise rejects with CANCELLED.
   */
  acquire(name: string, options?: NativeAcquireOptions | undefined | null, cancel?: CancelToken | undefined | null): Promise<NativeLock>
  /**
   * Acquires every lock of `names` at once, or none (one grant per name,
   * in the order given). With `waitMs` waits in every name's FIFO queue at
   * once up to that long (TIMEOUT after), holding none; without, one try
   * (LOCK_HELD naming the first taken). If `cancel` fires first, what the
   * try may have got is released and the promise rejects with CANCELLED.
   */
  acquireAll(names: Array<string>, options?: NativeAcquireOptions | undefined | null, cancel?: CancelToken | undefined | null): Promise<NativeLock[]>
  /** This client's counters per lock-name prefix (no network). */
  metrics(): Array<PrefixMetrics>
  /** The same counters with histograms, in the Prometheus text format. */
  metricsText(): string
  /** The current session's id, or null if none is open. */
  sessionId(): Promise<number | null>
  /** The session state: `healthy`, `jeopardy` or `expired` (no session). */
  sessionState(): string
  /**
   * Calls `callback` with every change of the session state until the
   * returned subscription is closed.
   */
  onSessionState(callback: (state: string) => void): NativeSubscription
  /**
   * Starts the core's `with_lock` for JS work: `lock()` gives the lock,
   * `workDone()` tells the core the work ended, `outcome()` is the result.
   */
  lockScope(name: string, options?: NativeAcquireOptions | undefined | null): NativeLockScope
  /** Admin: frees `name` only if `ownerId` still holds it (compare-and-swap). */
  forceRelease(name: string, ownerId: string, reason: string): Promise<Array<GrantInfo>>
  /**
   * Asks the holders of `name` (only the grant `ownerId`, if given) to
   * release it; frees nothing. Returns the grants asked.
   */
  requestRelease(name: string, ownerId: string | undefined | null, reason: string): Promise<Array<GrantInfo>>
  /**
   * Watches every lock whose name starts with `prefix` ("" for all) from
   * `startRevision` (0: the state first). No network until `next()`.
   */
  watch(prefix: string, startRevision: bigint): NativeWatcher
  /** The election `name` (a lock of that name). No network. */
  election(name: string): NativeElection
  /** Admin: blacklists a session; returns the ms left until it expires. */
  blacklist(sessionId: bigint, reason: string): Promise<number>
  /** Reads one lock (null if nobody holds or waits for it). */
  describe(name: string): Promise<LockInfo | null>
  /** Lists locks whose names start with `prefix`. */
  listLocks(prefix: string): Promise<Array<LockInfo>>
  /** Lists sessions. */
  listSessions(): Promise<Array<SessionInfo>>
  /** The cluster status as the leader (or any reachable node) sees it. */
  status(): Promise<ClusterStatus>
  /** The most recent admin actions (oldest first). */
  audit(limit: number): Promise<Array<AuditRecord>>
  /** The endpoints this client was given. */
  endpoints(): Array<string>
  /** Closes the session (its locks pass on at once, and are marked lost). */
  close(): Promise<void>
}

/** The election of one name: the leader is the lock's holder. */
export declare class NativeElection {
  /** The election's name (the lock's). */
  get name(): string
  /**
   * Campaigns with `value`: with `waitMs` waits (FIFO) up to that long to
   * lead (TIMEOUT after), without leads at once or fails with LOCK_HELD.
   * Resolves with the leadership, a lock. If `cancel` fires first, the
   * campaign is withdrawn and the promise rejects with CANCELLED.
   */
  campaign(value: string, waitMs?: number | undefined | null, cancel?: CancelToken | undefined | null): Promise<NativeLock>
  /** The current leader, or null (a linearizable read on the leader node). */
  leader(): Promise<Leader | null>
  /**
   * The leaders: first the current one, then after every change. No
   * network until `next()`.
   */
  observe(): NativeObserver
}

/** The storage side of fencing: rejects tokens lower than the highest seen. */
export declare class NativeFenceValidator {
  /** An empty validator. */
  constructor()
  /**
   * Accepts the fence if its token is at least the highest seen for its lock
   * (and records it); otherwise throws LOCK_LOST.
   */
  check(lock: string, token: bigint): void
  /** Parses a header value and checks it. */
  checkHeader(value: string): FenceData
  /** The highest token seen for `lock`, or null. */
  highest(lock: string): bigint | null
}

/** A held lock (one grant). */
export declare class NativeLock {
  /** The lock's name. */
  get name(): string
  /** The fencing token of this grant (u64 as bigint). */
  get fencingToken(): bigint
  /** The grant's unique owner id (32 hex digits). */
  get ownerId(): string
  /** `exclusive` or `shared`. */
  get mode(): string
  /** The id of the session holding it. */
  get sessionId(): number
  /** Whether the lock is still held, judged locally (no network). */
  isHeld(): boolean
  /** Ms the lock is certainly held without a further renewal (0 once lost). */
  remaining(): number
  /** Why the lock is no longer held, or null while it is. */
  lostReason(): string | null
  /** Resolves with the reason when the lock is lost or released. */
  lost(): Promise<string>
  /** Calls `callback` once with the reason when the lock is lost or released. */
  onLost(callback: (reason: string) => void): void
  /**
   * Replaces the value kept with this grant (an elected leader proclaims
   * its new value this way); rejects with LOCK_LOST if no longer held.
   */
  setValue(value: string): Promise<void>
  /**
   * Whether someone asked this holder to release (`requestRelease`).
   * Advisory: the lock stays held until the holder releases it.
   */
  isRevokeRequested(): boolean
  /**
   * Resolves with true when someone asks this holder to release (the
   * core's `Lock::revoke_requested`), or with false if the lock is lost or
   * released first without a request.
   */
  revokeRequested(): Promise<boolean>
  /** Calls `callback` once when someone asks this holder to release. */
  onRevokeRequested(callback: () => void): void
  /** Releases the lock (idempotent). */
  release(): Promise<void>
  /**
   * Ends a scope (`await using`): releases, and rejects with LOCK_LOST if
   * the lock was lost before (the core's `Lock::finish`).
   */
  finish(): Promise<void>
  /**
   * Resolves once `work` is done, or rejects with LOCK_LOST if the lock is
   * lost first (the core's `Lock::run`); the wrapper then aborts the work.
   */
  run(work: NativeWork): Promise<void>
}

/** The core's `LockScope`: `with_lock` for work that runs in JS. */
export declare class NativeLockScope {
  /** The granted lock (rejects with the acquire's error if none). */
  lock(): Promise<NativeLock>
  /** Tells the core the work has ended. */
  workDone(): void
  /** The result of `with_lock` (rejects with its error). */
  outcome(): Promise<void>
  /** Withdraws the acquire or releases the lock. */
  cancel(): void
}

/** An election's leaders, one per `next()`. */
export declare class NativeObserver {
  /** The next leader (null: nobody leads); rejects with CANCELLED once closed. */
  next(): Promise<Leader | null>
  /**
   * Stops observing: a pending `next` and every later one reject with
   * CANCELLED (idempotent).
   */
  close(): void
}

/** A session-state subscription; `cancel()` ends it. */
export declare class NativeSubscription {
  /** Ends the subscription (idempotent). */
  cancel(): void
}

/**
 * The changes of every lock under a prefix: `next()` resolves with the next
 * batch (reconnects and resumes happen inside the core).
 */
export declare class NativeWatcher {
  /** The prefix watched. */
  get prefix(): string
  /** The revision of the last batch returned (or the start revision). */
  get revision(): number
  /** The next batch; rejects with CANCELLED once closed. */
  next(): Promise<WatchBatch>
  /**
   * Ends the watch: a pending `next` and every later one reject with
   * CANCELLED, and the core drops the server's stream (idempotent).
   */
  close(): void
}

/** A signal that JS work under a lock has ended (the core's `Work`). */
export declare class NativeWork {
  /** Work that has not ended yet. */
  constructor()
  /** Marks the work as ended (idempotent). */
  done(): void
}

/** An admin action on record. */
export interface AuditRecord {
  /** When (Unix ms, leader clock). */
  atMs: number
  /** What: `force-release` or `blacklist`. */
  action: string
  /** Who. */
  principal: string
  /** On what. */
  target: string
  /** Details (owner, token, reason). */
  detail: string
}

/** Checks a fence the way the core does (throws INVALID_ARGUMENT). */
export declare function checkFence(lock: string, token: bigint): void

/** One node's view of the cluster. */
export interface ClusterStatus {
  /** The node that answered. */
  nodeId: number
  /** Its role: leader, follower, candidate, learner. */
  role: string
  /** Current term. */
  term: number
  /** The leader's id, if known. */
  leaderId?: number
  /** The leader's address, if known. */
  leaderAddr?: string
  /** Members. */
  members: Array<MemberInfo>
  /** Last log index on this node. */
  lastLogIndex: number
  /** Last committed index this node knows. */
  commitIndex: number
  /** Last applied index. */
  appliedIndex: number
  /** Live sessions. */
  sessions: number
  /** Locks with holders or waiters. */
  locks: number
  /** The fencing token the next grant will get. */
  nextToken: bigint
}

/** Connects to the cluster at `endpoints` and opens a session. */
export declare function connect(endpoints: Array<string>, options?: NativeClientOptions | undefined | null): Promise<NativeClient>

/** Like `connect`, but opens no session until the first acquire (admin use). */
export declare function connectLazy(endpoints: Array<string>, options?: NativeClientOptions | undefined | null): NativeClient

/** One stable error kind of the core, for the wrapper's error classes. */
export interface ErrorKindInfo {
  /** The stable code, for example `LOCK_HELD`. */
  code: string
  /** The kind's CamelCase name, for example `LockHeld`. */
  name: string
  /** What it means. */
  description: string
}

/** Every error kind of the core (`ErrorKind::ALL`), in its order. */
export declare function errorKinds(): Array<ErrorKindInfo>

/** The header that carries a fence: `tenure-fence`. */
export declare const FENCE_HEADER: string

/** A lock name and a fencing token (plain data). */
export interface FenceData {
  /** The lock (resource) name. */
  lock: string
  /** The fencing token. */
  token: bigint
}

/** The header value of a fence, `<lock>=<token>` (odd bytes percent-encoded). */
export declare function fenceHeaderValue(lock: string, token: bigint): string

/** A grant handed out by a force-release. */
export interface GrantInfo {
  /** Lock name. */
  name: string
  /** Fencing token. */
  token: bigint
  /** Owner id. */
  ownerId: string
  /** Session that got it. */
  sessionId: number
}

/** A current grant of a lock. */
export interface HolderInfo {
  /** Session holding it. */
  sessionId: number
  /** Fencing token. */
  token: bigint
  /** Owner id (32 hex digits). */
  ownerId: string
  /** Mode. */
  mode: 'exclusive' | 'shared' | 'permits'
  /** When it was granted (Unix ms, leader clock). */
  grantedAtMs: number
  /** The value given with the acquire ("" if none). */
  value: string
  /** Permits held, for a semaphore (0 for a lock). */
  permits: number
  /** Someone asked this holder to release (`request_release`). */
  releaseRequested: boolean
}

/** The leader of an election, as observers see it. */
export interface Leader {
  /** The election's name. */
  name: string
  /** The leader's session. */
  sessionId: number
  /** The leader's fencing token: a later leader's is greater. */
  token: bigint
  /** The leadership's owner id. */
  ownerId: string
  /** The value it campaigned with or last proclaimed. */
  value: string
}

/** A lock's holders and waiters. */
export interface LockInfo {
  /** Name. */
  name: string
  /** Current grants. */
  holders: Array<HolderInfo>
  /** FIFO queue. */
  waiters: Array<WaiterInfo>
  /** No grant before this time (Unix ms), 0 if no lock-delay. */
  delayedUntilMs: number
  /** A semaphore's number of permits; 0 for a lock. */
  permitLimit: number
}

/** The core's lock modes (`LockMode::ALL`), as their codes. */
export declare function lockModes(): Array<string>

/** The core's lost reasons (`LostReason::ALL`), as their codes. */
export declare function lostReasons(): Array<string>

/** Most names in one `acquireAll` (the server's limit). */
export declare const MAX_ACQUIRE_ALL: number

/** A cluster member. */
export interface MemberInfo {
  /** Node id. */
  id: number
  /** Address. */
  addr: string
  /** Last log index it is known to hold (reported by the leader only). */
  matchedIndex: number
}

/** Acquire options as the wrapper passes them. */
export interface NativeAcquireOptions {
  /** Wait up to this many ms in the server's FIFO queue; absent = try once. */
  waitMs?: number
  /** Shared mode instead of exclusive. */
  shared?: boolean
  /** Lock-delay in ms after this grant's session expires (default 0). */
  lockDelayMs?: number
  /** A small value stored with the grant, shown by describe and listLocks. */
  value?: string
  /** Semaphore acquire: how many permits (with `permitLimit`). */
  permits?: number
  /** Semaphore acquire: the semaphore's number of permits. */
  permitLimit?: number
}

/** Client options as the wrapper passes them (all durations in milliseconds). */
export interface NativeClientOptions {
  /** Session time-to-live in ms (default 10000). */
  ttlMs?: number
  /** Keepalive interval in ms (default ttl / 3). */
  keepaliveIntervalMs?: number
  /** Bound on the combined clock-rate error, as a fraction (default 0.01). */
  drift?: number
  /** Safety margin subtracted from the local expiry, in ms (default 100). */
  marginMs?: number
  /** Deadline of one call, retries included, in ms (default 10000). */
  callTimeoutMs?: number
  /** Timeout of one attempt at one server, in ms (default 2000). */
  attemptTimeoutMs?: number
  /** First retry backoff in ms (default 20). */
  initialBackoffMs?: number
  /** Largest retry backoff in ms (default 100). */
  maxBackoffMs?: number
  /** Session label shown by `tenure sessions` (default `host:pid`). */
  label?: string
  /** Bearer token sent with every request. */
  token?: string
  /** PEM file of the CA that signed the servers' certificates (enables TLS). */
  caFile?: string
  /** PEM client certificate for mutual TLS (needs `keyFile`). */
  certFile?: string
  /** PEM private key of `certFile`. */
  keyFile?: string
  /** Name to verify in the server certificate, if not the endpoint's host. */
  serverName?: string
  /**
   * Read unset settings from the environment (TENURE_ENDPOINTS, TENURE_TOKEN,
   * TENURE_CA, TENURE_CERT, TENURE_KEY, TENURE_SERVER_NAME): the core's
   * policy and default (true).
   */
  useEnv?: boolean
}

/** Parses a header value made by `fenceHeaderValue`. */
export declare function parseFence(value: string): FenceData

/** A client's counters for one lock-name prefix (`Client::metrics`). */
export interface PrefixMetrics {
  /**
   * The prefix: a name's first segment with its slash ("" for
   * names without one, "other" past 256 prefixes).
   */
  prefix: string
  /** Acquires granted. */
  acquired: number
  /** Acquires that failed (held, timed out, cancelled, ...). */
  acquireFailed: number
  /** Grants released by their holder. */
  released: number
  /** Grants lost (expired, blacklisted, force-released, closed). */
  lost: number
  /** Total time granted acquires waited (ms). */
  acquireWaitMsTotal: number
  /** Total time grants were held until released or lost (ms). */
  holdMsTotal: number
}

/** A session as the server knows it. */
export interface SessionInfo {
  /** Id. */
  sessionId: number
  /**
   * TTL.
   * In milliseconds.
   */
  ttlMs: number
  /** Label given by its client. */
  label: string
  /** Blacklisted (expires at its deadline, never renewed). */
  blacklisted: boolean
  /** Locks held. */
  held: Array<string>
  /** Acquires waiting. */
  waiting: number
  /**
   * The leader's view of the time left.
   * In milliseconds.
   */
  remainingMs: number
}

/** The core's session states (`SessionState::ALL`), as their codes. */
export declare function sessionStates(): Array<string>

/** Checks a lock name the way the server does. */
export declare function validateLockName(name: string): void

/** A queued acquire. */
export interface WaiterInfo {
  /** Session waiting. */
  sessionId: number
  /** Its request id. */
  requestId: number
  /** Mode. */
  mode: 'exclusive' | 'shared' | 'permits'
  /** When the wait times out (Unix ms, leader clock). */
  deadlineMs: number
  /** The value given with the acquire ("" if none). */
  value: string
  /** Permits asked for, for a semaphore (0 for a lock). */
  permits: number
}

/** What a watcher gets from one `next`: changes, or the state. */
export interface WatchBatch {
  /** Every change up to this revision is delivered (resume from it). */
  revision: number
  /**
   * The watch starts over: `locks` is the state at `revision` and
   * replaces what the watcher knew (first, and after falling behind).
   */
  reset: boolean
  /** With `reset`: every lock under the prefix with holders or waiters. */
  locks: Array<LockInfo>
  /** The changes since the previous batch, in revision order. */
  events: Array<WatchEvent>
}

/** One change of one lock, as a watch reports it. */
export interface WatchEvent {
  /** The cluster-wide number of this change. */
  revision: number
  /** What happened. */
  change: 'granted' | 'released' | 'expired' | 'force_released' | 'waiter_added' | 'waiter_removed' | 'value_changed' | 'release_requested'
  /** Lock name. */
  name: string
  /** The holder's or waiter's session. */
  sessionId: number
  /** The grant's fencing token (0 for a waiter's change). */
  token: bigint
  /** The grant's (or the waiter's future grant's) owner id. */
  ownerId: string
  /** Mode. */
  mode: 'exclusive' | 'shared' | 'permits'
  /** Permits, for a semaphore (0 for a lock). */
  permits: number
  /** The holder's or waiter's value (the new one for value_changed). */
  value: string
  /** The acquire's request id, for waiter changes and grants to a waiter. */
  requestId: number
  /** When it happened (Unix ms, leader clock). */
  atMs: number
}
