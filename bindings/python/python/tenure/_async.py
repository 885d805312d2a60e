"""The asyncio API: :class:`AsyncClient` and :class:`AsyncLock`.

Calls never block the event loop: each returns an awaitable completed from the
extension's own runtime. Cancelling one (``task.cancel()``, ``asyncio.wait_for``)
drops the Rust call; a waiting acquire is then withdrawn from the server's queue
(and released, had it just been granted).
"""

from __future__ import annotations

import asyncio
import os
from types import TracebackType
from typing import (
    Any,
    AsyncContextManager,
    Awaitable,
    Callable,
    Generator,
    Generic,
    Iterable,
    List,
    Optional,
    Sequence,
    Type,
    TypeVar,
    Union,
)

from . import _native
from ._common import (
    ElectionBase,
    ElectionInfo,
    EndsWhenClosed,
    Endpoints,
    FeedBase,
    LockBase,
    Subscription,
    WatcherInfo,
    endpoints_list,
    lock_names,
    native_options,
    state_callback,
)
from ._errors import TenureError
from ._native import AuditRecord, ClusterStatus, GrantInfo, Leader, LockInfo, PrefixMetrics, SessionInfo, WatchBatch
from ._types import LostReason, SessionState

__all__ = ["AsyncClient", "AsyncElection", "AsyncLock", "AsyncLocks", "AsyncObserver", "AsyncSemaphore", "AsyncWatcher"]

T = TypeVar("T")
F = TypeVar("F", bound="AsyncFeed[Any]")
PathLike = Union[str, "os.PathLike[str]"]


class AsyncLock(LockBase):
    """A held lock (asyncio API).

    Use ``async with client.lock(...) as lock:`` or ``await lock.release()``.
    Leaving an ``async with`` block releases the lock; if the lock was lost
    while the block ran, leaving it raises :class:`tenure.LockLost` (unless the
    block raised an exception of its own). To stop work as soon as the lock is
    lost, run it with :meth:`run`.
    """

    __slots__ = ()

    async def release(self) -> None:
        """Releases the lock. Idempotent."""
        await self._native.release_async()

    async def lost(self) -> LostReason:
        """Resolves when the lock is lost or released, with the reason; at the
        session's local expiry at the latest, even without news from the server."""
        return LostReason(await self._native.lost_async())

    async def set_value(self, value: str) -> None:
        """Replaces the value kept with this grant (proclaims a leader's new
        value); see :meth:`tenure.Lock.set_value`. Raises
        :class:`tenure.LockLost` if the lock is no longer held."""
        await self._native.set_value_async(value)

    async def wait_revoke_requested(self) -> bool:
        """Resolves with True when someone asks this holder to release the lock
        (``AsyncClient.request_release``), or with False if the lock is lost
        or released without a request. The request arrives with a renewal;
        the lock stays held until :meth:`release`."""
        return await self._native.wait_revoke_requested_async()

    async def run(self, work: Awaitable[T]) -> T:
        """Runs ``work`` while the lock is held and returns its result. If the
        lock is lost first, ``work`` is cancelled and :class:`tenure.LockLost`
        raised (the core's ``Lock::run`` decides). Does not release the lock."""
        signal = _native.NativeWork()
        return await _under_core(work, signal.done, self._native.run_async(signal))

    async def __aenter__(self) -> AsyncLock:
        """Returns the lock itself (it is already held)."""
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        """Releases the lock; raises LockLost if it was lost during the block
        (the core's ``finish``), unless the block raised an exception of its own."""
        try:
            await self._native.finish_async()
        except TenureError:
            if exc is None:
                raise


async def _under_core(work: Awaitable[T], done: Callable[[], None], outcome: Awaitable[None]) -> T:
    """Runs ``work`` as a task while the core watches the lock: ``done`` tells
    the core the task ended, and ``outcome`` raises (LockLost, ...) when the
    core decides the work must stop; the task is then cancelled. The work's
    own result or exception comes after the core's verdict."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(lambda _: done())
    try:
        await outcome
    except BaseException:
        task.cancel()
        try:
            await task
        except BaseException:
            pass
        raise
    return await task


S = TypeVar("S", bound=AsyncContextManager[Any])
"""What a :class:`Pending` call gives: an async context manager (a lock, the
locks of ``acquire_all``, a client)."""


class Pending(Generic[S]):
    """A call not started yet: ``await`` it for its result, or use it in
    ``async with`` to get the result for the block and end it (release,
    close) after the block. Nothing starts until then."""

    __slots__ = ("_start", "_value")

    def __init__(self, start: Callable[[], Awaitable[S]]) -> None:
        self._start = start
        self._value: Optional[S] = None

    def __await__(self) -> Generator[Any, None, S]:
        """Makes the call and returns its result."""
        return self._start().__await__()

    async def __aenter__(self) -> S:
        """Makes the call for the block."""
        self._value = await self._start()
        return self._value

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        """Ends the result as its own ``__aexit__`` does."""
        value, self._value = self._value, None
        if value is not None:
            await value.__aexit__(exc_type, exc, tb)


class Acquiring(Pending[AsyncLock]):
    """A pending acquire: ``await`` it for the :class:`AsyncLock`, or use it in
    ``async with`` to hold the lock for the block. Nothing starts until then."""

    __slots__ = ()

    def __init__(self, start: Callable[[], Awaitable[_native.NativeLock]]) -> None:
        async def acquire() -> AsyncLock:
            return AsyncLock(await start())

        super().__init__(acquire)


class AsyncLocks(List[AsyncLock]):
    """The locks of :meth:`AsyncClient.acquire_all`: a list with one
    :class:`AsyncLock` per name, in the order named (each with its own
    fencing token and owner id), and an async context manager that releases
    every one; see :class:`tenure.Locks`."""

    __slots__ = ()

    async def release(self) -> None:
        """Releases every lock (at once; idempotent)."""
        await _each(lock.release() for lock in self)

    async def __aenter__(self) -> AsyncLocks:
        """Returns the list itself (the locks are already held)."""
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        """Releases every lock as :meth:`AsyncLock.__aexit__` does, then
        raises the first error (LockLost if one was lost during the block),
        unless the block raised an exception of its own."""
        await _each(lock.__aexit__(*exc_info) for lock in self)


async def _each(calls: Iterable[Awaitable[None]]) -> None:
    """Runs every call to its end, together, then raises the first error
    among them (in the order of the calls)."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


class AcquiringAll(Pending[AsyncLocks]):
    """A pending :meth:`AsyncClient.acquire_all`: ``await`` it for the
    :class:`AsyncLocks`, or use it in ``async with`` to hold every lock for
    the block. Cancelling it leaves nothing held: what the server may have
    granted is released in the background."""

    __slots__ = ()


class Connecting(Pending["AsyncClient"]):
    """A pending connect: ``await`` it for the :class:`AsyncClient`, or use it
    in ``async with`` to close the client after the block."""

    __slots__ = ()


class AsyncSemaphore:
    """A counting semaphore, from :meth:`AsyncClient.semaphore`; see
    :class:`tenure.Semaphore`. Each acquire returns an :class:`Acquiring` (await
    it, or use it in ``async with``)."""

    __slots__ = ("_native", "name", "permits")

    def __init__(self, native: _native.NativeClient, name: str, permits: int) -> None:
        self._native = native
        self.name = name
        """The semaphore's name (a lock name)."""
        self.permits = permits
        """Its number of permits."""

    def acquire(self, count: int = 1, *, timeout: float, value: str = "") -> Acquiring:
        """Waits up to ``timeout`` seconds for ``count`` permits
        (:class:`tenure.Timeout` after); cancelling withdraws the wait."""
        native, name, permits = self._native, self.name, (count, self.permits)
        return Acquiring(lambda: native.acquire_async(name, timeout, False, 0.0, value, permits))

    def try_acquire(self, count: int = 1, *, value: str = "") -> Acquiring:
        """Takes ``count`` permits if they are free now (:class:`tenure.LockHeld`
        otherwise)."""
        native, name, permits = self._native, self.name, (count, self.permits)
        return Acquiring(lambda: native.acquire_async(name, None, False, 0.0, value, permits))

    def __repr__(self) -> str:
        return f"AsyncSemaphore(name={self.name!r}, permits={self.permits})"


class AsyncFeed(FeedBase[T]):
    """An asyncio stream of items (:class:`AsyncWatcher`,
    :class:`AsyncObserver`): an async iterator, and an async context manager
    that closes it. ``close()`` itself is a plain call."""

    __slots__ = ()

    async def next(self) -> T:
        """The next item. Cancelling the wait (``asyncio.wait_for``) loses
        nothing: a later ``next`` goes on. Raises :class:`tenure.Cancelled`
        once closed."""
        return await self._feed.next_async()

    def __aiter__(self: F) -> F:
        """``async for`` waits for each item in turn; :meth:`close` ends it."""
        return self

    async def __anext__(self) -> T:
        """The next item; StopAsyncIteration once closed."""
        with EndsWhenClosed(self._feed, StopAsyncIteration):
            return await self._feed.next_async()

    async def __aenter__(self: F) -> F:
        """Returns itself."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Closes it."""
        self.close()


class AsyncWatcher(WatcherInfo, AsyncFeed[WatchBatch]):
    """The changes of every lock under a prefix, from
    :meth:`AsyncClient.watch`: ``async for batch in watcher`` or ``await
    watcher.next()``. See :class:`tenure.Watcher` for batches, resets and
    resuming."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeWatcher) -> None:
        super().__init__(native)
        self._native = native


class AsyncObserver(ElectionInfo, AsyncFeed[Optional[Leader]]):
    """The leaders of an election, from :meth:`AsyncElection.observe`:
    ``async for leader in observer`` or ``await observer.next()``. First the
    current leader (None if nobody leads), then the leader after every change,
    None when it goes away."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeObserver) -> None:
        super().__init__(native)
        self._native = native


class AsyncElection(ElectionBase):
    """Leader election on the lock ``name``, from :meth:`AsyncClient.election`;
    see :class:`tenure.Election`. The leadership is an :class:`AsyncLock`."""

    __slots__ = ()

    def campaign(self, value: str, timeout: float) -> Acquiring:
        """Waits (FIFO, up to ``timeout`` seconds) to lead with ``value``.
        Returns an awaitable of the leadership (:class:`AsyncLock`) that is
        also an async context manager (resigns on exit). Cancelling it
        withdraws the campaign. :class:`tenure.Timeout` if not elected in time."""
        native = self._native
        return Acquiring(lambda: native.campaign_async(value, timeout))

    def try_campaign(self, value: str) -> Acquiring:
        """Leads at once if nobody does (:class:`tenure.LockHeld` otherwise)."""
        native = self._native
        return Acquiring(lambda: native.campaign_async(value, None))

    async def leader(self) -> Optional[Leader]:
        """The current leader, or None."""
        return await self._native.leader_async()

    def observe(self) -> AsyncObserver:
        """The leader changes, starting with the current leader. No network
        until the first ``next``."""
        return AsyncObserver(self._native.observe())


class AsyncClient:
    """A connection to a tenure cluster, with one session at a time (asyncio API).

    Create one with ``client = await AsyncClient.connect(...)`` or
    ``async with AsyncClient.connect(...) as client:``. The options are those
    of :class:`tenure.Client`.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeClient) -> None:
        """Wraps a native client: call ``await AsyncClient.connect(...)`` (or
        ``async with AsyncClient.connect(...)``) instead."""
        if not isinstance(native, _native.NativeClient):
            raise TypeError(
                "AsyncClient() is not how to connect: use `await AsyncClient.connect(endpoints, ...)` "
                "or `async with AsyncClient.connect(endpoints, ...) as client:`"
            )
        self._native = native

    @classmethod
    def connect(
        cls,
        endpoints: Endpoints = None,
        *,
        ttl: Optional[float] = None,
        keepalive_interval: Optional[float] = None,
        drift: Optional[float] = None,
        margin: Optional[float] = None,
        call_timeout: Optional[float] = None,
        attempt_timeout: Optional[float] = None,
        initial_backoff: Optional[float] = None,
        max_backoff: Optional[float] = None,
        label: Optional[str] = None,
        token: Optional[str] = None,
        ca_file: Optional[PathLike] = None,
        cert_file: Optional[PathLike] = None,
        key_file: Optional[PathLike] = None,
        server_name: Optional[str] = None,
        use_env: bool = True,
        lazy: bool = False,
    ) -> Connecting:
        """Connects to the cluster and opens a session (unless ``lazy``).
        See :class:`tenure.Client` for the options. Returns an awaitable that
        is also an async context manager."""
        options = native_options(
            ttl=ttl,
            keepalive_interval=keepalive_interval,
            drift=drift,
            margin=margin,
            call_timeout=call_timeout,
            attempt_timeout=attempt_timeout,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            label=label,
            token=token,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            server_name=server_name,
            use_env=use_env,
        )
        eps = endpoints_list(endpoints)

        async def start() -> AsyncClient:
            if lazy:
                return cls(_native.NativeClient.connect(eps, options, True))
            return cls(await _native.NativeClient.connect_async(eps, options))

        return Connecting(start)

    # -- locks -------------------------------------------------------------

    def acquire(
        self,
        name: str,
        *,
        wait: Optional[float] = None,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> Acquiring:
        """Acquires ``name``; see :meth:`tenure.Client.acquire`. Returns an
        awaitable of the :class:`AsyncLock` that is also an async context
        manager. Cancelling it withdraws the acquire from the server's queue."""
        native = self._native
        return Acquiring(lambda: native.acquire_async(name, wait, shared, lock_delay, value))

    def lock(
        self,
        name: str,
        timeout: float,
        *,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> Acquiring:
        """Waits up to ``timeout`` seconds for ``name`` (:class:`tenure.Timeout` after)."""
        return self.acquire(name, wait=timeout, shared=shared, lock_delay=lock_delay, value=value)

    def try_lock(
        self, name: str, *, shared: bool = False, lock_delay: float = 0.0, value: str = ""
    ) -> Acquiring:
        """Tries once for ``name`` (:class:`tenure.LockHeld` if it is taken)."""
        return self.acquire(name, wait=None, shared=shared, lock_delay=lock_delay, value=value)

    def acquire_all(
        self,
        names: Sequence[str],
        timeout: Optional[float] = None,
        *,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> AcquiringAll:
        """Acquires every lock of ``names`` at once, or none of them; see
        :meth:`tenure.Client.acquire_all` (a wait is a place in every name's
        FIFO queue, holding none). Returns an awaitable of the
        :class:`AsyncLocks` (one :class:`AsyncLock` per name, in the order
        given) that is also an async context manager releasing every one.
        Cancelling it leaves nothing held: what the server may have granted
        is released in the background."""
        native, listed = self._native, lock_names(names)

        async def acquire() -> AsyncLocks:
            natives = await native.acquire_all_async(listed, timeout, shared, lock_delay, value)
            return AsyncLocks(AsyncLock(n) for n in natives)

        return AcquiringAll(acquire)

    async def with_lock(
        self,
        name: str,
        work: Callable[[AsyncLock], Awaitable[T]],
        *,
        timeout: Optional[float],
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> T:
        """Acquires ``name`` (waiting up to ``timeout`` seconds; None tries
        once), runs ``work(lock)``, and releases the lock: the core's
        ``with_lock``. If the lock is lost during the work, the work is
        cancelled and :class:`tenure.LockLost` raised; if it is lost before the
        release, LockLost too. The core's errors come before the work's own."""
        scope = self._native.lock_scope(name, timeout, shared, lock_delay, value)
        try:
            lock = AsyncLock(await scope.lock_async())
        except BaseException:
            scope.cancel()
            raise
        return await _under_core(work(lock), scope.work_done, scope.outcome_async())

    def semaphore(self, name: str, permits: int) -> AsyncSemaphore:
        """The counting semaphore ``name`` of ``permits`` permits (1 to
        1,000,000); see :meth:`tenure.Client.semaphore`. No network until an
        acquire."""
        return AsyncSemaphore(self._native, name, permits)

    # -- watches and elections ---------------------------------------------

    def watch(self, prefix: str = "", start_revision: int = 0) -> AsyncWatcher:
        """Watches every lock whose name starts with ``prefix``; see
        :meth:`tenure.Client.watch`. A plain call (no network until the first
        ``next``); use the result with ``async for`` or ``async with``."""
        return AsyncWatcher(self._native.watch(prefix, start_revision))

    def election(self, name: str) -> AsyncElection:
        """The election ``name``; see :class:`AsyncElection`. No network."""
        return AsyncElection(self._native.election(name))

    # -- session -----------------------------------------------------------

    @property
    def session_state(self) -> SessionState:
        """The current session's state (EXPIRED when there is none). No network."""
        return SessionState(self._native.session_state())

    async def session_id(self) -> Optional[int]:
        """The current session's id, or None if none is open."""
        return await self._native.session_id_async()

    def on_session_state(self, callback: Callable[[SessionState], object]) -> Subscription:
        """Calls ``callback(state)`` on a background thread (not the event loop:
        use ``loop.call_soon_threadsafe`` to get back to it) for every change of
        the session state, in order, until the subscription is cancelled."""
        return Subscription(self._native.on_session_state(state_callback(callback)))

    @property
    def endpoints(self) -> List[str]:
        """The endpoints given at connect time."""
        return self._native.endpoints()

    def metrics(self) -> List[PrefixMetrics]:
        """This client's counters per lock-name prefix; see
        :meth:`tenure.Client.metrics`. A plain call (no ``await``): local, no
        network."""
        return self._native.metrics()

    def metrics_text(self) -> str:
        """This client's counters with wait and hold histograms, in the
        Prometheus text format; see :meth:`tenure.Client.metrics_text`. A
        plain call (no ``await``): local, no network."""
        return self._native.metrics_text()

    async def close(self) -> None:
        """Closes the session: its locks pass on at once and report ``CLIENT_CLOSED``."""
        await self._native.close_async()

    async def __aenter__(self) -> AsyncClient:
        """Returns the client itself."""
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        """Closes the client."""
        try:
            await self.close()
        except TenureError:
            if exc is None:
                raise

    # -- admin -------------------------------------------------------------

    async def force_release(self, name: str, owner_id: str, reason: str = "") -> List[GrantInfo]:
        """Admin: see :meth:`tenure.Client.force_release`."""
        return await self._native.force_release_async(name, owner_id, reason)

    async def request_release(
        self, name: str, owner_id: Optional[str] = None, reason: str = ""
    ) -> List[GrantInfo]:
        """Asks the holders of ``name`` to release it (advisory); see
        :meth:`tenure.Client.request_release`."""
        return await self._native.request_release_async(name, owner_id, reason)

    async def blacklist(self, session_id: int, reason: str = "") -> float:
        """Admin: see :meth:`tenure.Client.blacklist`."""
        return await self._native.blacklist_async(session_id, reason)

    async def describe(self, name: str) -> Optional[LockInfo]:
        """Reads one lock (None if nobody holds or waits for it)."""
        return await self._native.describe_async(name)

    async def list_locks(self, prefix: str = "") -> List[LockInfo]:
        """Lists the locks whose names start with ``prefix``."""
        return await self._native.list_locks_async(prefix)

    async def list_sessions(self) -> List[SessionInfo]:
        """Lists the live sessions."""
        return await self._native.list_sessions_async()

    async def status(self) -> ClusterStatus:
        """The cluster status."""
        return await self._native.status_async()

    async def audit(self, limit: int = 100) -> List[AuditRecord]:
        """The most recent admin actions, oldest first."""
        return await self._native.audit_async(limit)
