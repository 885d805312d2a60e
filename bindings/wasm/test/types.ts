// Type-level tests of index.d.ts and the generated pkg/tenure_wasm.d.ts,
// checked by `tsc -p tsconfig.json` (noEmit). Each @ts-expect-error line must
// be a type error, or tsc fails.
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
  type ClusterStatus,
  type GrantInfo,
  type Lock,
  type Leader,
  type LockChange,
  type LockInfo,
  type PrefixMetrics,
  type SessionInfo,
  type WatchBatch,
  Watcher,
} from '../index.js';

export async function typed(endpoints: string[]): Promise<bigint> {
  const options: ClientOptions = { ttlMs: 5_000, token: 's3cret', tls: true, endpointsOnly: false };
  const client = await Client.connect(endpoints, options);
  const lazy: Client = Client.connectLazy('127.0.0.1:7100');
  const lock: Lock = await client.lock('jobs/nightly', { timeout: 10_000, shared: true, signal: AbortSignal.timeout(1) });
  const token: bigint = lock.fencingToken;
  const header: string = lock.fence.headerValue();
  const reason: LostReason = await lock.lost;
  const again: LostReason | null = lock.lostReason;
  const state: SessionState = client.sessionState;
  lock.onLost((r: LostReason) => void r);
  const sub = client.onSessionState((s: SessionState) => void s);
  sub.cancel();
  await client.hostPaused();
  await lock[asyncDispose]();
  await lock[Symbol.asyncDispose]();
  const n: number = await client.withLock('x', async (l, signal: AbortSignal) => (signal.aborted ? 0 : Number(l.fencingToken)), { timeout: 1_000 });
  const s: string = await client.withLock('x', { timeout: 1_000 }, () => 'ok');
  const info: LockInfo | null = await lazy.describe('x');
  const holderToken: bigint | undefined = info?.holders[0]?.token;
  const status: ClusterStatus = await lazy.status();
  const leader: number | null = status.leaderId;
  const next: bigint = status.nextToken;
  const sessions: SessionInfo[] = await lazy.listSessions();
  const ttl: number | undefined = sessions[0]?.ttlMs;
  const asked: GrantInfo[] = await lazy.requestRelease('x', { ownerId: lock.ownerId, reason: 'deploy' });
  const askedFlag: boolean | undefined = info?.holders[0]?.releaseRequested;
  const revoke: boolean = lock.revokeRequested;
  const told: boolean = await lock.waitRevokeRequested();
  lock.onRevokeRequested(() => void lock.release());
  const v = new FenceValidator();
  v.check(new Fence('x', 1n));
  v.check({ lock: 'x', token: '2' });
  const highest: bigint | null = v.highest('x');
  const code: ErrorCode = new LockHeldError('held').code;
  const cls: typeof TenureError = errorClassFor('CANCELLED');
  const isCancel: boolean = new CancelledError() instanceof TenureError;
  const h: string = FENCE_HEADER;
  void [header, reason, again, state, n, s, holderToken, leader, next, ttl, highest, code, cls, isCancel, h];
  void [asked, askedFlag, revoke, told];
  await lock.setValue('10.0.0.2:80');
  const watcher: Watcher = client.watch('jobs/', { startRevision: 3n });
  const batch: WatchBatch = await watcher.next();
  const rev: number = watcher.revision + batch.revision;
  const change: LockChange | undefined = batch.events[0]?.change;
  const eventToken: bigint | undefined = batch.events[0]?.token;
  for await (const b of client.watch()) void b.locks;
  await watcher[Symbol.asyncDispose]();
  const election = client.election('leader');
  const leadership: Lock = await election.campaign('me:80', { timeout: 1_000, signal: AbortSignal.timeout(2_000) });
  const other: Lock = await election.tryCampaign('me:80');
  const current: Leader | null = await election.leader();
  const observer = election.observe();
  for await (const l of observer) void l?.value;
  const seen: Leader | null = await observer.next();
  observer.close();
  void [rev, change, eventToken, leadership, other, current, seen];
  const all: Lock[] = await client.acquireAll(['a/1', 'a/2'], {
    timeout: 1_000, shared: true, value: 'v', lockDelayMs: 0, signal: AbortSignal.timeout(2_000),
  });
  const tried: Lock[] = await client.tryAcquireAll(['a/1'], { value: 'v' });
  const counters: PrefixMetrics[] = client.metrics();
  const waited: number | undefined = counters[0]?.acquireWaitMsTotal;
  const prometheus: string = client.metricsText();
  void [all, tried, waited, prometheus, MAX_ACQUIRE_ALL + 1];
  // @ts-expect-error acquireAll takes an array of names
  await client.acquireAll('a/1');
  // @ts-expect-error tryAcquireAll takes no timeout
  await client.tryAcquireAll(['a/1'], { timeout: 5 });
  // @ts-expect-error a campaign needs a timeout
  await election.campaign('me:80', {});
  // @ts-expect-error the leader may be null
  const sure: Leader = await observer.next();
  // @ts-expect-error lock changes are a closed set
  const badChange: LockChange = 'moved';
  void [sure, badChange];
  // @ts-expect-error lock() needs a timeout
  await client.lock('x', {});
  // @ts-expect-error unknown option
  await Client.connect(endpoints, { caFile: '/ca.pem' });
  // @ts-expect-error requestRelease takes its owner id as an option
  await lazy.requestRelease('x', lock.ownerId);
  // @ts-expect-error tokens are bigints
  const bad: number = lock.fencingToken;
  void bad;
  await client.close();
  return token;
}
