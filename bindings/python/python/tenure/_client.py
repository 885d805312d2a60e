"""The blocking API: :class:`Client` and :class:`Lock`.

Every call blocks the calling thread with the GIL released (other Python
threads keep running) and wakes up regularly to run signal handlers, so Ctrl-C
interrupts a waiting acquire, which withdraws it from the server's queue.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Callable, List, Optional, Sequence, Type, TypeVar, Union

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

__all__ = ["Client", "Election", "Lock", "Locks", "Observer", "Semaphore", "Watcher"]

PathLike = Union[str, "os.PathLike[str]"]
T = TypeVar("T")
F = TypeVar("F", bound="Feed[Any]")


class Lock(LockBase):
    """A held lock (blocking API).

    Use it as a context manager (``with client.lock(...) as lock:``) or call
    :meth:`release`. The grant is also released in the background when the
    object is garbage-collected without ``release()``.

    Leaving a ``with`` block releases the lock; if the lock was lost while the
    block ran (session expired or blacklisted, force-released, client closed),
    leaving it raises :class:`tenure.LockLost`, since the block's work was not
    protected all along (unless the block raised an exception of its own).
    """

    __slots__ = ()

    def release(self) -> None:
        """Releases the lock. Idempotent: releasing a released or lost lock is fine."""
        self._native.release()

    def lost(self, timeout: Optional[float] = None) -> Optional[LostReason]:
        """Blocks until the lock is lost or released and returns why, or None if
        ``timeout`` seconds pass first. Returns by the session's local expiry
        at the latest, even without news from the server."""
        reason = self._native.lost(timeout)
        return None if reason is None else LostReason(reason)

    def set_value(self, value: str) -> None:
        """Replaces the value kept with this grant (shown by ``describe``,
        ``list_locks`` and watches as ``value_changed``); an elected leader
        proclaims a new value (its new address) this way. At most 1,024 bytes,
        no control characters but tab. Raises :class:`tenure.LockLost` if the
        lock is no longer held."""
        self._native.set_value(value)

    def wait_revoke_requested(self, timeout: Optional[float] = None) -> bool:
        """Blocks until someone asks this holder to release the lock
        (``Client.request_release``) and returns True; returns False if the
        lock is lost or released without a request, or ``timeout`` seconds
        pass first. The request arrives with a renewal (within a keepalive
        interval); the lock stays held until :meth:`release`."""
        return self._native.wait_revoke_requested(timeout)

    def __enter__(self) -> Lock:
        """Returns the lock itself (it is already held)."""
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        """Releases the lock; raises LockLost if it was lost during the block
        (the core's ``finish``), unless the block raised an exception of its own."""
        try:
            self._native.finish()
        except TenureError:
            if exc is None:
                raise


class Locks(List[Lock]):
    """The locks of :meth:`Client.acquire_all`: a list with one :class:`Lock`
    per name, in the order named, each with its own fencing token and owner
    id; also a context manager that releases every one.

    Leaving ``with client.acquire_all([...]) as locks:`` releases them all;
    if any was lost while the block ran, every one is still released and
    :class:`tenure.LockLost` (the first such error) is raised, unless the
    block raised an exception of its own. Each lock can also be released on
    its own; one garbage-collected unreleased is released in the background.
    """

    __slots__ = ()

    def release(self) -> None:
        """Releases every lock (idempotent, like :meth:`Lock.release`)."""
        for lock in self:
            lock.release()

    def __enter__(self) -> Locks:
        """Returns the list itself (the locks are already held)."""
        return self

    def __exit__(self, *exc_info: Any) -> None:
        """Releases every lock as :meth:`Lock.__exit__` does, then raises
        the first error (LockLost if one was lost during the block), unless
        the block raised an exception of its own."""
        first: Optional[TenureError] = None
        for lock in self:
            try:
                lock.__exit__(*exc_info)
            except TenureError as e:
                first = first or e
        if first is not None:
            raise first


class Semaphore:
    """A counting semaphore of ``permits`` permits, from :meth:`Client.semaphore`.

    Each grant of permits is a :class:`Lock` (a context manager) with its own
    owner id and fencing token, granted in FIFO order while the permits held
    by everyone stay within ``permits``, and given back when released or when
    the holder's session ends. The number of permits is fixed while anyone
    holds or waits for the name: another number raises :class:`InvalidArgument`.
    """

    __slots__ = ("_native", "name", "permits")

    def __init__(self, native: _native.NativeClient, name: str, permits: int) -> None:
        self._native = native
        self.name = name
        """The semaphore's name (a lock name)."""
        self.permits = permits
        """Its number of permits."""

    def acquire(self, count: int = 1, *, timeout: float, value: str = "") -> Lock:
        """Waits up to ``timeout`` seconds for ``count`` permits
        (:class:`tenure.Timeout` after)."""
        return Lock(self._native.acquire(self.name, timeout, False, 0.0, value, (count, self.permits)))

    def try_acquire(self, count: int = 1, *, value: str = "") -> Lock:
        """Takes ``count`` permits if they are free now (:class:`tenure.LockHeld`
        otherwise)."""
        return Lock(self._native.acquire(self.name, None, False, 0.0, value, (count, self.permits)))

    def __repr__(self) -> str:
        return f"Semaphore(name={self.name!r}, permits={self.permits})"


class Feed(FeedBase[T]):
    """A blocking stream of items (:class:`Watcher`, :class:`Observer`): an
    iterator that waits for each item, and a context manager that closes it."""

    __slots__ = ()

    def next(self, timeout: Optional[float] = None) -> T:
        """Waits for the next item (GIL released; Ctrl-C interrupts it).

        Raises:
            Timeout: ``timeout`` seconds passed first. Nothing is lost: a
                later ``next`` goes on where this one stopped.
            Cancelled: The feed is closed.
        """
        return self._feed.next(timeout)

    def __iter__(self: F) -> F:
        """Iterating waits for each item in turn; :meth:`close` (from another
        thread, or the loop's body) ends the iteration."""
        return self

    def __next__(self) -> T:
        """The next item; StopIteration once closed."""
        with EndsWhenClosed(self._feed, StopIteration):
            return self._feed.next(None)

    def __enter__(self: F) -> F:
        """Returns itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Closes it."""
        self.close()


class Watcher(WatcherInfo, Feed[WatchBatch]):
    """The changes of every lock under a name prefix, from :meth:`Client.watch`
    (blocking API): ``for batch in watcher:`` or :meth:`next`.

    Each :class:`tenure.WatchBatch` has the changes since the previous batch
    (``events``, in increasing ``revision`` order), or, with ``reset`` set,
    the state itself (``locks``), which replaces what the watcher knew: first
    (from revision 0) and whenever the server no longer has every change since
    the watcher's revision. Reconnects and leader changes are handled inside,
    resuming from :attr:`revision`. Close it (or leave its ``with`` block) to
    end the iteration.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeWatcher) -> None:
        super().__init__(native)
        self._native = native


class Observer(ElectionInfo, Feed[Optional[Leader]]):
    """The leaders of an election, from :meth:`Election.observe` (blocking
    API): ``for leader in observer:`` or :meth:`next`. First the current
    leader (None if nobody leads), then the leader after every change: a new
    leader, a new value (``set_value``), or None when the leader goes away
    (resigned, expired, force-released, client closed)."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeObserver) -> None:
        super().__init__(native)
        self._native = native


class Election(ElectionBase):
    """Leader election on the lock ``name``, from :meth:`Client.election`
    (blocking API). The leader is the lock's holder; its leadership is a
    :class:`Lock` (fencing token, ``lost()``, ``on_lost``): proclaim a new
    value with ``lock.set_value``, resign with ``lock.release()`` (or by
    leaving its ``with`` block)."""

    __slots__ = ()

    def campaign(self, value: str, timeout: float) -> Lock:
        """Waits (FIFO, up to ``timeout`` seconds) to lead, with ``value`` (for
        example this node's address) shown to observers.

        Raises:
            Timeout: Not elected in time.
            AlreadyHeld: This client leads already.
        """
        return Lock(self._native.campaign(value, timeout))

    def try_campaign(self, value: str) -> Lock:
        """Leads at once if nobody does; raises :class:`tenure.LockHeld` otherwise."""
        return Lock(self._native.campaign(value, None))

    def leader(self) -> Optional[Leader]:
        """The current leader, or None (a linearizable read on the leader node)."""
        return self._native.leader()

    def observe(self) -> Observer:
        """The leader changes, starting with the current leader (see
        :class:`Observer`). No network until the first ``next``."""
        return Observer(self._native.observe())


class Client:
    """A connection to a tenure cluster, with one session at a time (blocking API).

    Connecting opens a session (unless ``lazy``); a background heartbeat keeps
    it alive. Close the client (or use it as a context manager) to end the
    session at once; otherwise sessions are closed at interpreter exit.

    Args:
        endpoints: Any cluster members, as ``"host:port,host:port"`` or a list;
            None reads ``TENURE_ENDPOINTS`` (unless ``use_env`` is False).
        ttl: Session time-to-live in seconds (default 10).
        keepalive_interval: Seconds between renewals (default ``ttl / 3``).
        drift: Bound on the combined clock-rate error of client and server
            (default 0.01): the session counts as alive only until
            ``t_send + ttl * (1 - drift) - margin``.
        margin: Safety margin in seconds subtracted from the local expiry
            (default 0.1).
        call_timeout: Deadline of one call in seconds, retries included
            (default 10; a waiting acquire gets its wait on top).
        attempt_timeout: Timeout of one attempt at one server (default 2).
        initial_backoff: First retry backoff in seconds (default 0.02).
        max_backoff: Largest retry backoff in seconds (default 0.1).
        label: Session label shown by ``tenure sessions`` (default ``host:pid``).
        token: Bearer token (default ``TENURE_TOKEN``).
        ca_file: PEM CA of the servers, enables TLS (default ``TENURE_CA``).
        cert_file: PEM client certificate for mutual TLS (default ``TENURE_CERT``).
        key_file: PEM key of ``cert_file`` (default ``TENURE_KEY``).
        server_name: Name to verify in the server certificate
            (default ``TENURE_SERVER_NAME``, else the endpoint's host).
        use_env: Read unset settings from the ``TENURE_*`` variables above
            (the core's policy, the same in every language; default True).
        lazy: Open no session until the first acquire (for admin tools).

    Raises:
        InvalidArgument: Bad options or endpoints.
        Unavailable: No server answered within ``call_timeout``.
    """

    __slots__ = ("_native",)

    def __init__(
        self,
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
    ) -> None:
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
        self._native = _native.NativeClient.connect(endpoints_list(endpoints), options, lazy)

    # -- locks -------------------------------------------------------------

    def acquire(
        self,
        name: str,
        *,
        wait: Optional[float] = None,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> Lock:
        """Acquires ``name``.

        Args:
            name: 1 to 256 bytes of UTF-8 without control characters.
            wait: Seconds to wait in the server's FIFO queue (at most 3600);
                None tries once.
            shared: Shared mode instead of exclusive.
            lock_delay: Seconds nobody may get the lock after this holder's
                session EXPIRES (a clean release has no delay).
            value: A small value stored with the grant and shown by
                ``describe`` and ``list_locks`` (the holder's address, a job
                id): at most 1,024 bytes, no control characters but tab.

        Raises:
            LockHeld: ``wait`` is None and the lock is taken.
            Timeout: The wait ran out.
            AlreadyHeld: This client already holds ``name``.
        """
        return Lock(self._native.acquire(name, wait, shared, lock_delay, value))

    def lock(
        self,
        name: str,
        timeout: float,
        *,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> Lock:
        """Waits up to ``timeout`` seconds for ``name``; raises :class:`tenure.Timeout`
        if it is still taken then. The result is a context manager."""
        return self.acquire(name, wait=timeout, shared=shared, lock_delay=lock_delay, value=value)

    def try_lock(
        self, name: str, *, shared: bool = False, lock_delay: float = 0.0, value: str = ""
    ) -> Lock:
        """Tries once for ``name``; raises :class:`tenure.LockHeld` if it is taken."""
        return self.acquire(name, wait=None, shared=shared, lock_delay=lock_delay, value=value)

    def semaphore(self, name: str, permits: int) -> Semaphore:
        """The counting semaphore ``name`` of ``permits`` permits (1 to
        1,000,000). No network until an acquire."""
        return Semaphore(self._native, name, permits)

    def acquire_all(
        self,
        names: Sequence[str],
        timeout: Optional[float] = None,
        *,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> Locks:
        """Acquires every lock of ``names`` at once, or none of them.

        The server grants the whole set in one step, so the caller never holds
        some of the locks while it waits for the others, and callers naming
        overlapping sets in different orders cannot deadlock. The result is a
        :class:`Locks`: a list with one :class:`Lock` per name, in the order
        given, each with its own fencing token and owner id; release each, or
        use it as a context manager (``with client.acquire_all([...]) as
        locks:``) to release every one at the end.

        Args:
            names: 1 to ``tenure.MAX_ACQUIRE_ALL`` (64) distinct lock names.
            timeout: Seconds to wait; None tries once. The call waits in
                every name's FIFO queue at once, holding none of them, so
                callers naming the same locks in any order cannot deadlock;
                single acquires of these names queue behind it.
            shared: Shared mode for every name instead of exclusive.
            lock_delay: As in :meth:`acquire`, for each grant.
            value: As in :meth:`acquire`, stored with each grant.

        Raises:
            LockHeld: ``timeout`` is None and one of them is taken (the message
                names the first); none of them is held.
            Timeout: They were never all free at once within ``timeout``.
            InvalidArgument: No name, more than 64, a name twice, or a name
                in use as a semaphore.
            AlreadyHeld: This client holds one of them already.
            TypeError: ``names`` is one str, not a sequence of them.
        """
        natives = self._native.acquire_all(lock_names(names), timeout, shared, lock_delay, value)
        return Locks(Lock(n) for n in natives)

    # -- watches and elections ---------------------------------------------

    def watch(self, prefix: str = "", start_revision: int = 0) -> Watcher:
        """Watches every lock whose name starts with ``prefix`` (``""``: all;
        needs read permission on it). With ``start_revision`` 0 the first
        batch is the current state (``reset``); with the :attr:`Watcher.revision`
        of an earlier watcher, it resumes after it (or starts over with a
        reset if the server no longer has every change since). No network
        until the first ``next``; needs no session."""
        return Watcher(self._native.watch(prefix, start_revision))

    def election(self, name: str) -> Election:
        """The election ``name`` (a lock of that name); see :class:`Election`.
        No network."""
        return Election(self._native.election(name))

    # -- session -----------------------------------------------------------

    @property
    def session_state(self) -> SessionState:
        """The current session's state (EXPIRED when there is none). No network."""
        return SessionState(self._native.session_state())

    def session_id(self) -> Optional[int]:
        """The current session's id, or None if none is open."""
        return self._native.session_id()

    def on_session_state(self, callback: Callable[[SessionState], object]) -> Subscription:
        """Calls ``callback(state)`` on a background thread for every change of
        the session state, in order, until the subscription is cancelled."""
        return Subscription(self._native.on_session_state(state_callback(callback)))

    @property
    def endpoints(self) -> List[str]:
        """The endpoints given at connect time."""
        return self._native.endpoints()

    def metrics(self) -> List[PrefixMetrics]:
        """This client's counters per lock-name prefix, one
        :class:`PrefixMetrics` each: acquires granted and failed, releases,
        losses, total wait and hold time (ms). A name's prefix is its first
        segment with the slash (``"jobs/"`` for ``"jobs/nightly"``), ``""``
        for a name without one; past 256 prefixes new ones count as
        ``"other"``. Counted since the client was made, across sessions.
        Local, no network (on :class:`AsyncClient` too: no ``await``)."""
        return self._native.metrics()

    def metrics_text(self) -> str:
        """The same counters, with wait and hold time histograms, in the
        Prometheus text format (version 0.0.4) for an application's own
        ``/metrics`` page: ``tenure_client_acquires_total{prefix,result}``
        (``result`` is ``ok`` or the error's code, e.g. ``LOCK_HELD``),
        ``tenure_client_locks_lost_total{prefix,reason}`` (a
        :class:`LostReason` value, e.g. ``force_released``), and the
        histograms ``tenure_client_acquire_wait_seconds`` (granted acquires)
        and ``tenure_client_hold_seconds`` (grants released or lost). Local, no network (on
        :class:`AsyncClient` too: no ``await``)."""
        return self._native.metrics_text()

    def close(self) -> None:
        """Closes the session: its locks pass on at once and report
        ``CLIENT_CLOSED``. A later acquire opens a new session."""
        self._native.close()

    def __enter__(self) -> Client:
        """Returns the client itself."""
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        """Closes the client."""
        try:
            self.close()
        except TenureError:
            if exc is None:
                raise

    # -- admin -------------------------------------------------------------

    def force_release(self, name: str, owner_id: str, reason: str = "") -> List[GrantInfo]:
        """Admin: frees ``name`` only if the grant ``owner_id`` still holds it
        (compare-and-swap) and hands it to the next waiter at once. The old
        holder is told its lock is lost (``FORCE_RELEASED``). Returns the grants
        made. Raises :class:`tenure.NotHolder` if that grant is not current."""
        return self._native.force_release(name, owner_id, reason)

    def request_release(
        self, name: str, owner_id: Optional[str] = None, reason: str = ""
    ) -> List[GrantInfo]:
        """Asks the holders of ``name`` (only the grant ``owner_id``, if given)
        to release it. Advisory: nothing is freed; each holder learns it with
        its next renewal (``lock.revoke_requested``, ``on_revoke_requested``)
        and decides. Use :meth:`force_release` for a holder that is gone.
        Needs lock permission on ``name``; asking again is harmless. Returns
        the grants asked (empty: nobody holds it, or not that grant)."""
        return self._native.request_release(name, owner_id, reason)

    def blacklist(self, session_id: int, reason: str = "") -> float:
        """Admin: blacklists a session: it is never renewed again, its holders
        learn at their next renewal, and it expires at its current deadline.
        Returns the seconds until then."""
        return self._native.blacklist(session_id, reason)

    def describe(self, name: str) -> Optional[LockInfo]:
        """Reads one lock (None if nobody holds or waits for it)."""
        return self._native.describe(name)

    def list_locks(self, prefix: str = "") -> List[LockInfo]:
        """Lists the locks whose names start with ``prefix``."""
        return self._native.list_locks(prefix)

    def list_sessions(self) -> List[SessionInfo]:
        """Lists the live sessions."""
        return self._native.list_sessions()

    def status(self) -> ClusterStatus:
        """The cluster status, as the leader (or any reachable node) sees it."""
        return self._native.status()

    def audit(self, limit: int = 100) -> List[AuditRecord]:
        """The most recent admin actions, oldest first."""
        return self._native.audit(limit)
