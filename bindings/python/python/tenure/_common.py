"""Helpers shared by the sync and asyncio APIs (argument conversion, the
properties common to both lock handles, watchers, observers and elections)."""

from __future__ import annotations

import os
from typing import (
    Awaitable,
    Callable,
    Generic,
    List,
    Optional,
    Protocol,
    Sequence,
    Type,
    TypeVar,
    Union,
)

from . import _native
from ._errors import Cancelled
from ._native import Fence, NativeElection, NativeObserver, NativeWatcher
from ._types import LockMode, LostReason, SessionState

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

__all__: list[str] = []

Endpoints = Union[str, Sequence[str], None]
"""Cluster endpoints: ``"host:port,host:port"``, a sequence of ``"host:port"``,
or None (the core then reads ``TENURE_ENDPOINTS`` unless ``use_env=False``)."""


def endpoints_list(endpoints: Endpoints) -> list[str]:
    """The endpoints as a list (empty for None: the core decides)."""
    if endpoints is None:
        return []
    if isinstance(endpoints, str):
        return [endpoints]
    return [str(e) for e in endpoints]


def native_options(
    *,
    ttl: Optional[float],
    keepalive_interval: Optional[float],
    drift: Optional[float],
    margin: Optional[float],
    call_timeout: Optional[float],
    attempt_timeout: Optional[float],
    initial_backoff: Optional[float],
    max_backoff: Optional[float],
    label: Optional[str],
    token: Optional[str],
    ca_file: Optional[Union[str, "os.PathLike[str]"]],
    cert_file: Optional[Union[str, "os.PathLike[str]"]],
    key_file: Optional[Union[str, "os.PathLike[str]"]],
    server_name: Optional[str],
    use_env: bool,
) -> _native.NativeOptions:
    """Checked native options."""

    def path(p: Optional[Union[str, "os.PathLike[str]"]]) -> Optional[str]:
        return None if p is None else os.fspath(p)

    return _native.NativeOptions(
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
        ca_file=path(ca_file),
        cert_file=path(cert_file),
        key_file=path(key_file),
        server_name=server_name,
        use_env=use_env,
    )


def lock_names(names: Sequence[str]) -> List[str]:
    """The names of an ``acquire_all``, as a list. One str is refused: it
    would pass for a sequence of one-letter names."""
    if isinstance(names, str):
        raise TypeError(
            "acquire_all takes a sequence of lock names, not one str: acquire_all([name, ...])"
        )
    return list(names)


class LockBase:
    """What the sync and asyncio lock handles have in common: the grant's
    identity, and the local (no network) view of whether it is still held."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeLock) -> None:
        self._native = native

    @property
    def name(self) -> str:
        """The lock's name."""
        return self._native.name

    @property
    def fencing_token(self) -> int:
        """The fencing token of this grant: greater than every token granted before."""
        return self._native.fencing_token

    @property
    def fence(self) -> Fence:
        """The fence to send to storage with every write (``tenure-fence`` header)."""
        return self._native.fence

    @property
    def owner_id(self) -> str:
        """The grant's unique owner id (32 hex digits), for ``force_release``."""
        return self._native.owner_id

    @property
    def mode(self) -> LockMode:
        """Exclusive or shared."""
        return LockMode(self._native.mode)

    @property
    def session_id(self) -> int:
        """The id of the session holding the lock."""
        return self._native.session_id

    def is_held(self) -> bool:
        """Whether the lock is still held, judged locally without network: not
        released, not lost, and the session's local expiry not passed."""
        return self._native.is_held()

    def remaining(self) -> float:
        """Seconds the lock is certainly held without a further renewal (0 once lost)."""
        return self._native.remaining()

    def lost_reason(self) -> Optional[LostReason]:
        """Why the lock is no longer held, or None while it is."""
        reason = self._native.lost_reason()
        return None if reason is None else LostReason(reason)

    def on_lost(self, callback: Callable[[LostReason], object]) -> None:
        """Calls ``callback(reason)`` once when the lock is lost or released
        (soon, if it already is). It runs on a background thread: keep it short
        and thread-safe. Its exceptions are reported as unraisable."""

        def call(reason: str) -> None:
            callback(LostReason(reason))

        self._native.on_lost(call)

    @property
    def revoke_requested(self) -> bool:
        """Whether someone asked this holder to release the lock
        (``Client.request_release``), judged locally without network: the
        request arrives with a renewal. Advisory: the lock stays held until
        this holder releases it (or loses it)."""
        return self._native.is_revoke_requested()

    def on_revoke_requested(self, callback: Callable[[], object]) -> None:
        """Calls ``callback()`` once when someone asks this holder to release
        the lock (soon, if someone already has). Nothing else happens: the
        holder decides, e.g. finishes its work and releases. It runs on a
        background thread: keep it short and thread-safe. Its exceptions are
        reported as unraisable."""
        self._native.on_revoke_requested(callback)

    def __repr__(self) -> str:
        """Name, token, owner id and whether it is held."""
        return (
            f"<{type(self).__name__} name={self.name!r} token={self.fencing_token} "
            f"owner_id={self.owner_id!r} held={self.is_held()}>"
        )


class Subscription:
    """A session-state callback registration (see ``Client.on_session_state``).

    It lasts until :meth:`cancel` or until the client is gone; dropping this
    object does not cancel it. Usable as a context manager that cancels on exit.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeSubscription) -> None:
        self._native = native

    def cancel(self) -> None:
        """Stops the callbacks (idempotent)."""
        self._native.cancel()

    @property
    def cancelled(self) -> bool:
        """Whether it was cancelled (or the client is gone)."""
        return self._native.cancelled()

    def __enter__(self) -> Subscription:
        """Returns the subscription itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Cancels the subscription."""
        self.cancel()


def state_callback(callback: Callable[[SessionState], object]) -> Callable[[str], None]:
    """Adapts a callback of SessionState to the native one of str."""

    def call(state: str) -> None:
        callback(SessionState(state))

    return call


class NativeFeed(Protocol[T_co]):
    """What a native watcher and observer have in common."""

    def next(self, timeout: Optional[float] = None) -> T_co:
        """The next item (blocking); Timeout, or Cancelled once closed."""

    def next_async(self) -> Awaitable[T_co]:
        """The next item, as an awaitable."""

    def close(self) -> None:
        """Ends a waiting ``next`` and every later one."""

    def closed(self) -> bool:
        """Whether ``close`` was called."""


class EndsWhenClosed:
    """A ``with`` block around a feed's ``next`` that turns the
    :class:`tenure.Cancelled` of a closed feed into ``stop``
    (``StopIteration`` or ``StopAsyncIteration``): closing ends iteration."""

    __slots__ = ("_feed", "_stop")

    def __init__(self, feed: NativeFeed[object], stop: Type[Exception]) -> None:
        self._feed = feed
        self._stop = stop

    def __enter__(self) -> None:
        """Nothing to do."""

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """Raises ``stop`` in place of the Cancelled of a closed feed."""
        if isinstance(exc, Cancelled) and self._feed.closed():
            raise self._stop from None


class FeedBase(Generic[T]):
    """What watchers and observers have in common, blocking and asyncio:
    ``close()`` (from any thread; ends a waiting ``next`` and the iteration)
    and ``closed``."""

    __slots__ = ("_feed",)

    def __init__(self, feed: NativeFeed[T]) -> None:
        self._feed = feed

    def close(self) -> None:
        """Stops it: a waiting ``next`` (on any thread or task) and every later
        one raise :class:`tenure.Cancelled`, and iteration ends. Idempotent;
        no network."""
        self._feed.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._feed.closed()


class WatcherInfo:
    """The properties of a watcher (blocking and asyncio)."""

    __slots__ = ()
    _native: NativeWatcher

    def __repr__(self) -> str:
        """Prefix, revision and whether it is closed."""
        return (
            f"<{type(self).__name__} prefix={self.prefix!r} revision={self.revision} "
            f"closed={self._native.closed()}>"
        )

    @property
    def prefix(self) -> str:
        """The name prefix watched (``""``: every lock)."""
        return self._native.prefix

    @property
    def revision(self) -> int:
        """The revision of the last batch returned (or the start revision):
        pass it as ``start_revision`` to resume in a new watcher."""
        return self._native.revision


class ElectionInfo:
    """The name of an election, for the elections and their observers
    (blocking and asyncio)."""

    __slots__ = ()
    _native: Union[NativeElection, NativeObserver]

    @property
    def name(self) -> str:
        """The election's name (a lock of that name: ``describe`` shows the
        leader as its holder, the candidates as its waiters)."""
        return self._native.name

    def __repr__(self) -> str:
        """The election's name."""
        return f"<{type(self).__name__} name={self.name!r}>"


class ElectionBase(ElectionInfo):
    """What the blocking and asyncio elections have in common."""

    __slots__ = ("_native",)
    _native: NativeElection

    def __init__(self, native: NativeElection) -> None:
        self._native = native
