// Type-level tests of index.d.ts, checked by `tsc -p tsconfig.json` (noEmit).
// Each @ts-expect-error line must be a type error, or tsc fails.
import {
  Client,
  CancelledError,
  ErrorCode,
  Fence,
  FenceValidator,
  FENCE_HEADER,
  MAX_ACQUIRE_ALL,
  LockHeldError,
  LostReason,
  SessionState,
  TenureError,
  asyncDispose,
  errorClassFor,
  type ClientOptions,
  type Lock,
  type GrantInfo,
  type Leader,
  type LockChange,
  type LockInfo,
  type PrefixMetrics,
  type WatchBatch,
} from 'tenure';

export async function typed(endpoints: string[]): Promise<bigint> {
  const options: ClientOptions = { ttlMs: 5_000, token: 's3cret', caFile: '/ca.pem', useEnv: false };
  const client = await Client.connect(endpoints, options);
  const lazy: Client = Client.connectLazy('127.0.0.1:7100');
  const lock: Lock = await client.lock('jobs/nightly', { timeout: 10_000, shared: true, signal: AbortSignal.timeout(1) });
  const token: bigint = lock.fencingToken;
  const header: string = lock.fence.headerValue();
  const reason: LostReason = await lock.lost;
  const again: LostReason | null = lock.lostReason;
  const state: SessionState = client.sessionState;
  const ms: number = lock.remaining();
  const held: boolean = lock.isHeld();
  lock.onLost((r: LostReason) => void r);
  const sub = client.onSessionState((s: SessionState) => void s);
  sub.cancel();
  await lock[asyncDispose]();
  await lock[Symbol.asyncDispose]();
  const n: number = await client.withLock('x', async (l, signal: AbortSignal) => (signal.aborted ? 0 : Number(l.fencingToken)), { timeout: 1_000 });
  const info: LockInfo | null = await lazy.describe('x');
  const holderToken: bigint | undefined = info?.holders[0]?.token;
  const left: number = await lazy.blacklist(1n, 'r');
  const grants = await lazy.forceRelease('x', lock.ownerId);
  const grantToken: bigint | undefined = grants[0]?.token;
  const next: bigint = (await lazy.status()).nextToken;
  const asked: GrantInfo[] = await lazy.requestRelease('x', { ownerId: lock.ownerId, reason: 'deploy' });
  await lazy.requestRelease('x');
  const askedFlag: boolean | undefined = info?.holders[0]?.releaseRequested;
  const revoke: boolean = lock.revokeRequested;
  const told: boolean = await lock.waitRevokeRequested();
  lock.onRevokeRequested(() => void lock.release());
  const v = new FenceValidator();
  v.check(new Fence('x', 1n));
  v.check({ lock: 'x', token: 2 });
  const parsed: Fence = Fence.parse(`x=1`);
  const highest: bigint | null = v.highest('x');
  const code: ErrorCode = ErrorCode.LOCK_HELD;
  const k: typeof TenureError = errorClassFor('LOCK_HELD');
  try {
    await client.tryLock('y');
  } catch (e) {
    if (e instanceof LockHeldError) {
      const c: 'LOCK_HELD' = e.code;
      void c;
    } else if (e instanceof CancelledError) {
      const c: 'CANCELLED' = e.code;
      void c;
    }
  }
  await lock.setValue('10.0.0.2:80');
  const watcher = client.watch('jobs/', { startRevision: 7n });
  const batch: WatchBatch = await watcher.next();
  const rev: number = watcher.revision + batch.revision;
  const change: LockChange | undefined = batch.events[0]?.change;
  const eventToken: bigint | undefined = batch.events[0]?.token;
  const stateNames: string[] = batch.reset ? batch.locks.map((l) => l.name) : [];
  for await (const b of client.watch()) void b.events;
  watcher.close();
  {
    using scopedWatch = client.watch('x/', { startRevision: 0 });
    void scopedWatch;
  }
  const election = client.election('leader');
  const leadership: Lock = await election.campaign('me:80', { timeout: 1_000, signal: AbortSignal.timeout(2_000) });
  await leadership.setValue('me:81');
  const other: Lock = await election.tryCampaign('me:80');
  const current: Leader | null = await election.leader();
  const leaderToken: bigint | undefined = current?.token;
  const observer = election.observe();
  for await (const leader of observer) {
    const value: string | undefined = leader?.value;
    void value;
  }
  const nextLeader: Leader | null = await observer.next();
  await observer[Symbol.asyncDispose]();
  void [rev, change, eventToken, stateNames, other, leaderToken, nextLeader];
  const all: Lock[] = await client.acquireAll(['a/1', 'a/2'], {
    timeout: 1_000, shared: true, value: 'v', lockDelayMs: 0, signal: AbortSignal.timeout(2_000),
  });
  const tried: Lock[] = await client.tryAcquireAll(['a/1'], { value: 'v' });
  const counters: PrefixMetrics[] = client.metrics();
  const acquired: number | undefined = counters[0]?.acquireWaitMsTotal;
  const prometheus: string = client.metricsText();
  void [all, tried, acquired, prometheus, MAX_ACQUIRE_ALL + 1];
  await using scoped = await client.tryLock('z');
  void [scoped, header, reason, again, state, ms, held, n, holderToken, left, grantToken, next, parsed, highest, code, k];
  void [asked, askedFlag, revoke, told];
  void [FENCE_HEADER, LostReason.RELEASED, SessionState.HEALTHY];

  // @ts-expect-error fencing tokens are bigint, never number
  const lossy: number = lock.fencingToken;
  // @ts-expect-error unknown option
  await Client.connect(endpoints, { ttl: 5 });
  // @ts-expect-error tryLock takes no timeout
  await client.tryLock('y', { timeout: 5 });
  // @ts-expect-error the constructor is private
  new Client();
  // @ts-expect-error requestRelease takes its owner id as an option
  await lazy.requestRelease('x', lock.ownerId);
  // @ts-expect-error acquireAll takes an array of names
  await client.acquireAll('a/1');
  // @ts-expect-error tryAcquireAll takes no timeout
  await client.tryAcquireAll(['a/1'], { timeout: 5 });
  // @ts-expect-error metrics are synchronous
  await client.metrics().then(() => 0);
  // @ts-expect-error a campaign needs a timeout
  await election.campaign('me:80');
  // @ts-expect-error an observer's leader may be null
  const sure: Leader = await observer.next();
  // @ts-expect-error lock changes are a closed set
  const badChange: LockChange = 'moved';
  // @ts-expect-error lost reasons are a closed set
  const bad: LostReason = 'gone';
  void [lossy, bad, sure, badChange];
  await client.close();
  return token;
}
