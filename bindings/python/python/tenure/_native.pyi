"""Type stubs of the native module ``tenure._native`` (pyo3).

The public API is re-exported by ``tenure``; the ``Native*`` classes are the
low-level layer wrapped by ``tenure.Client``, ``tenure.AsyncClient``,
``tenure.Lock`` and ``tenure.AsyncLock``. Durations are float seconds; modes,
states and lost reasons are their stable lower-case names.
"""

from typing import Awaitable, Callable, Final, List, Optional, Tuple, final

FENCE_HEADER: Final[str]
"""The header that carries a fence: ``tenure-fence``."""

__version__: Final[str]
"""The version of the native module."""

MAX_ACQUIRE_ALL: Final[int]
"""The most names in one ``acquire_all`` (the core's ``MAX_ACQUIRE_ALL``: 64)."""

ERROR_CODES: Final[List[str]]
"""The core's error kinds (``ErrorKind::ALL``), e.g. ``"LOCK_HELD"``."""
LOST_REASONS: Final[List[str]]
"""The core's lost reasons (``LostReason::ALL``), e.g. ``"released"``."""
SESSION_STATES: Final[List[str]]
"""The core's session states (``SessionState::ALL``)."""
LOCK_MODES: Final[List[str]]
"""The core's lock modes (``LockMode::ALL``)."""
LOCK_CHANGES: Final[List[str]]
"""The core's lock changes of a watch (``LockChange::ALL``), e.g. ``"granted"``."""

def shutdown(timeout: float = 1.0) -> None:
    """Closes every live client's session (best effort, within ``timeout``
    seconds) and stops the runtime. Idempotent."""

@final
class Fence:
    """A lock name and a fencing token, sent to storage as the header
    ``tenure-fence: <lock>=<token>``. Immutable, hashable, comparable."""

    @property
    def lock(self) -> str:
        """The lock (resource) name."""
    @property
    def token(self) -> int:
        """The fencing token of the grant."""
    def __init__(self, lock: str, token: int) -> None:
        """A fence for ``lock`` at ``token``."""
    def header_value(self) -> str:
        """The header value, ``<lock>=<token>`` (odd bytes of the name percent-encoded)."""
    @staticmethod
    def parse(value: str) -> Fence:
        """Parses a header value; raises ``tenure.InvalidArgument`` if it is not one."""
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

@final
class FenceValidator:
    """The storage side of fencing: rejects tokens lower than the highest seen
    per lock. Thread-safe."""

    def __init__(self) -> None:
        """An empty validator."""
    def check(self, fence: Fence) -> None:
        """Accepts ``fence`` if its token is at least the highest seen for its
        lock (and records it); otherwise raises ``tenure.LockLost``."""
    def check_header(self, value: str) -> Fence:
        """Parses a ``tenure-fence`` header value and checks it."""
    def highest(self, lock: str) -> Optional[int]:
        """The highest token seen for ``lock``, or None."""

@final
class HolderInfo:
    """A current grant of a lock."""

    @property
    def session_id(self) -> int:
        """Id of the session holding it."""
    @property
    def token(self) -> int:
        """Fencing token of the grant."""
    @property
    def owner_id(self) -> str:
        """Owner id of the grant (32 hex digits)."""
    @property
    def mode(self) -> str:
        """``"exclusive"`` or ``"shared"``."""
    @property
    def granted_at_ms(self) -> int:
        """When it was granted (Unix ms, leader clock)."""
    @property
    def value(self) -> str:
        """The value given with the acquire (``""`` if none)."""
    @property
    def permits(self) -> int:
        """Permits held, for a semaphore (0 for a lock)."""
    @property
    def release_requested(self) -> bool:
        """Someone asked this holder to release (``request_release``)."""
    def __eq__(self, other: object) -> bool: ...

@final
class WaiterInfo:
    """A queued (waiting) acquire."""

    @property
    def session_id(self) -> int:
        """Id of the waiting session."""
    @property
    def request_id(self) -> int:
        """Its request id."""
    @property
    def mode(self) -> str:
        """``"exclusive"`` or ``"shared"``."""
    @property
    def deadline_ms(self) -> int:
        """When the wait times out (Unix ms, leader clock)."""
    @property
    def value(self) -> str:
        """The value given with the acquire (``""`` if none)."""
    @property
    def permits(self) -> int:
        """Permits asked for, for a semaphore (0 for a lock)."""
    def __eq__(self, other: object) -> bool: ...

@final
class LockInfo:
    """A lock's holders and FIFO queue of waiters."""

    @property
    def name(self) -> str:
        """The lock name."""
    @property
    def holders(self) -> List[HolderInfo]:
        """Current grants."""
    @property
    def waiters(self) -> List[WaiterInfo]:
        """Waiting acquires, in queue order."""
    @property
    def delayed_until_ms(self) -> int:
        """No grant before this time (Unix ms); 0 without a lock-delay."""
    @property
    def permit_limit(self) -> int:
        """A semaphore's number of permits; 0 for a lock."""
    def __eq__(self, other: object) -> bool: ...

@final
class SessionInfo:
    """A session as the server knows it."""

    @property
    def session_id(self) -> int:
        """Session id."""
    @property
    def ttl(self) -> float:
        """Time-to-live in seconds."""
    @property
    def label(self) -> str:
        """Label given by its client."""
    @property
    def blacklisted(self) -> bool:
        """Blacklisted: never renewed again, expires at its deadline."""
    @property
    def held(self) -> List[str]:
        """Names of the locks it holds."""
    @property
    def waiting(self) -> int:
        """Number of its waiting acquires."""
    @property
    def remaining(self) -> float:
        """The leader's view of the seconds left before it expires."""
    def __eq__(self, other: object) -> bool: ...

@final
class MemberInfo:
    """A cluster member."""

    @property
    def id(self) -> int:
        """Node id."""
    @property
    def addr(self) -> str:
        """Address (``host:port``)."""
    @property
    def matched_index(self) -> int:
        """Last log index it is known to hold (reported by the leader only)."""
    def __eq__(self, other: object) -> bool: ...

@final
class ClusterStatus:
    """One node's view of the cluster."""

    @property
    def node_id(self) -> int:
        """The node that answered."""
    @property
    def role(self) -> str:
        """Its role: leader, follower, candidate or learner."""
    @property
    def term(self) -> int:
        """Current Raft term."""
    @property
    def leader_id(self) -> Optional[int]:
        """The leader's id, if known."""
    @property
    def leader_addr(self) -> Optional[str]:
        """The leader's address, if known."""
    @property
    def members(self) -> List[MemberInfo]:
        """The members."""
    @property
    def last_log_index(self) -> int:
        """Last log index on this node."""
    @property
    def commit_index(self) -> int:
        """Last committed index this node knows."""
    @property
    def applied_index(self) -> int:
        """Last applied index."""
    @property
    def sessions(self) -> int:
        """Number of live sessions."""
    @property
    def locks(self) -> int:
        """Number of locks with holders or waiters."""
    @property
    def next_token(self) -> int:
        """The fencing token the next grant will get."""
    def __eq__(self, other: object) -> bool: ...

@final
class AuditRecord:
    """An administrative action on record."""

    @property
    def at_ms(self) -> int:
        """When (Unix ms, leader clock)."""
    @property
    def action(self) -> str:
        """What: ``force-release``, ``request-release`` or ``blacklist``."""
    @property
    def principal(self) -> str:
        """Who did it."""
    @property
    def target(self) -> str:
        """On what (lock or session)."""
    @property
    def detail(self) -> str:
        """Details (owner, token, reason)."""
    def __eq__(self, other: object) -> bool: ...

@final
class PrefixMetrics:
    """A client's counters for one lock-name prefix (``Client.metrics()``)."""

    @property
    def prefix(self) -> str:
        """The prefix: a name's first segment with its slash (``"jobs/"`` for
        ``"jobs/nightly"``), ``""`` for names without one, ``"other"`` past
        256 prefixes."""
    @property
    def acquired(self) -> int:
        """Acquires granted."""
    @property
    def acquire_failed(self) -> int:
        """Acquires that failed (held, timed out, cancelled, ...)."""
    @property
    def released(self) -> int:
        """Grants released by their holder."""
    @property
    def lost(self) -> int:
        """Grants lost (expired, blacklisted, force-released, closed)."""
    @property
    def acquire_wait_ms_total(self) -> int:
        """Total time granted acquires waited (ms)."""
    @property
    def hold_ms_total(self) -> int:
        """Total time grants were held until released or lost (ms)."""
    def __eq__(self, other: object) -> bool: ...

@final
class GrantInfo:
    """A grant: one handed to the next waiter by a force-release, or one
    asked to release by ``request_release``."""

    @property
    def name(self) -> str:
        """Lock name."""
    @property
    def token(self) -> int:
        """Fencing token of the new grant."""
    @property
    def owner_id(self) -> str:
        """Owner id of the new grant."""
    @property
    def session_id(self) -> int:
        """Session that got it."""
    def __eq__(self, other: object) -> bool: ...

@final
class WatchEvent:
    """One change of one lock, as a watch reports it."""

    @property
    def revision(self) -> int:
        """The cluster-wide number of this change."""
    @property
    def change(self) -> str:
        """What happened: a :class:`tenure.LockChange` value (``"granted"``,
        ``"released"``, ``"expired"``, ``"force_released"``,
        ``"waiter_added"``, ``"waiter_removed"``, ``"value_changed"``,
        ``"release_requested"``)."""
    @property
    def name(self) -> str:
        """Lock name."""
    @property
    def session_id(self) -> int:
        """The holder's or waiter's session."""
    @property
    def token(self) -> int:
        """The grant's fencing token (0 for a waiter's change)."""
    @property
    def owner_id(self) -> str:
        """The grant's (or the waiter's future grant's) owner id."""
    @property
    def mode(self) -> str:
        """``"exclusive"``, ``"shared"`` or ``"permits"``."""
    @property
    def permits(self) -> int:
        """Permits, for a semaphore (0 for a lock)."""
    @property
    def value(self) -> str:
        """The holder's or waiter's value (the new one for ``value_changed``)."""
    @property
    def request_id(self) -> int:
        """The acquire's request id, for waiter changes and grants to a waiter."""
    @property
    def at_ms(self) -> int:
        """When it happened (Unix ms, leader clock)."""
    def __eq__(self, other: object) -> bool: ...

@final
class WatchBatch:
    """What a watcher gets from one ``next``: changes, or the state."""

    @property
    def revision(self) -> int:
        """Every change up to this revision is delivered (resume from it)."""
    @property
    def reset(self) -> bool:
        """The watch starts over: ``locks`` is the state at ``revision`` and
        replaces what the watcher knew (first, and after falling behind)."""
    @property
    def locks(self) -> List[LockInfo]:
        """With ``reset``: every lock under the prefix with holders or waiters."""
    @property
    def events(self) -> List[WatchEvent]:
        """The changes since the previous batch, in revision order."""
    def __eq__(self, other: object) -> bool: ...

@final
class Leader:
    """The leader of an election, as observers see it."""

    @property
    def name(self) -> str:
        """The election's name."""
    @property
    def session_id(self) -> int:
        """The leader's session."""
    @property
    def token(self) -> int:
        """The leader's fencing token: a later leader's is greater."""
    @property
    def owner_id(self) -> str:
        """The leadership's owner id."""
    @property
    def value(self) -> str:
        """The value it campaigned with or last proclaimed."""
    def __eq__(self, other: object) -> bool: ...

@final
class NativeOptions:
    """Checked client options; None keeps the core default. With ``use_env``
    (the default) connecting reads unset settings from ``TENURE_*``."""

    def __init__(
        self,
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
        ca_file: Optional[str] = None,
        cert_file: Optional[str] = None,
        key_file: Optional[str] = None,
        server_name: Optional[str] = None,
        use_env: bool = True,
    ) -> None:
        """Builds and checks the options (``tenure.InvalidArgument`` if inconsistent)."""
    @property
    def ttl(self) -> float:
        """The session TTL in seconds."""

@final
class NativeSubscription:
    """A session-state callback registration."""

    def cancel(self) -> None:
        """Stops the callbacks (idempotent)."""
    def cancelled(self) -> bool:
        """Whether it was cancelled."""

@final
class NativeWork:
    """A signal that Python work under a lock has ended (the core's ``Work``)."""

    def __init__(self) -> None:
        """Work that has not ended yet."""
    def done(self) -> None:
        """Marks the work as ended (idempotent)."""

@final
class NativeLockScope:
    """The core's ``with_lock`` for work that runs in Python."""

    def lock_async(self) -> Awaitable[NativeLock]:
        """The granted lock (the acquire's error if none)."""
    def work_done(self) -> None:
        """Tells the core the work has ended."""
    def outcome_async(self) -> Awaitable[None]:
        """The result of ``with_lock``: raises its error."""
    def cancel(self) -> None:
        """Withdraws the acquire or releases the lock."""

@final
class NativeLock:
    """A held lock (the core's lock handle)."""

    @property
    def name(self) -> str:
        """The lock's name."""
    @property
    def fencing_token(self) -> int:
        """The fencing token of this grant."""
    @property
    def fence(self) -> Fence:
        """The fence to pass to storage."""
    @property
    def owner_id(self) -> str:
        """The grant's owner id (32 hex digits)."""
    @property
    def mode(self) -> str:
        """``"exclusive"`` or ``"shared"``."""
    @property
    def session_id(self) -> int:
        """The id of the session holding it."""
    def is_held(self) -> bool:
        """Whether the lock is still held, judged locally (no network)."""
    def remaining(self) -> float:
        """Seconds the lock is certainly held without a further renewal."""
    def lost_reason(self) -> Optional[str]:
        """Why the lock is no longer held, or None while it is."""
    def release(self) -> None:
        """Releases the lock (blocking; idempotent)."""
    def release_async(self) -> Awaitable[None]:
        """``release``, as an awaitable."""
    def lost(self, timeout: Optional[float] = None) -> Optional[str]:
        """Blocks until the lock is lost or released; None after ``timeout``."""
    def lost_async(self) -> Awaitable[str]:
        """Resolves with the reason when the lock is lost or released."""
    def on_lost(self, callback: Callable[[str], object]) -> None:
        """Calls ``callback(reason)`` once, on a background thread."""
    def set_value(self, value: str) -> None:
        """Replaces the grant's value (blocking); LockLost if no longer held."""
    def set_value_async(self, value: str) -> Awaitable[None]:
        """``set_value``, as an awaitable."""
    def is_revoke_requested(self) -> bool:
        """Whether someone asked this holder to release the lock (no network)."""
    def wait_revoke_requested(self, timeout: Optional[float] = None) -> bool:
        """Blocks until someone asks this holder to release the lock (True);
        False if the lock ends unasked or ``timeout`` passes first."""
    def wait_revoke_requested_async(self) -> Awaitable[bool]:
        """``wait_revoke_requested`` without a timeout, as an awaitable."""
    def on_revoke_requested(self, callback: Callable[[], object]) -> None:
        """Calls ``callback()`` once, on a background thread, when asked to release."""
    def finish(self) -> None:
        """Releases; raises LockLost if the lock was lost before (blocking)."""
    def finish_async(self) -> Awaitable[None]:
        """``finish``, as an awaitable."""
    def run_async(self, work: NativeWork) -> Awaitable[None]:
        """Resolves when ``work`` is done; raises LockLost if the lock is lost first."""

@final
class NativeWatcher:
    """A watch of every lock under a prefix (the core's ``Watcher``)."""

    @property
    def prefix(self) -> str:
        """The prefix watched."""
    @property
    def revision(self) -> int:
        """The revision of the last batch returned (or the start revision)."""
    def next(self, timeout: Optional[float] = None) -> WatchBatch:
        """The next batch (blocking); Timeout after ``timeout``, Cancelled once closed."""
    def next_async(self) -> Awaitable[WatchBatch]:
        """The next batch, as an awaitable."""
    def close(self) -> None:
        """Stops the watcher (idempotent)."""
    def closed(self) -> bool:
        """Whether ``close`` was called."""

@final
class NativeObserver:
    """Leader changes of an election (the core's ``Observer``)."""

    @property
    def name(self) -> str:
        """The election's name."""
    def next(self, timeout: Optional[float] = None) -> Optional[Leader]:
        """The next leader, None when there is none (blocking); Timeout after
        ``timeout``, Cancelled once closed."""
    def next_async(self) -> Awaitable[Optional[Leader]]:
        """The next leader, as an awaitable."""
    def close(self) -> None:
        """Stops observing (idempotent)."""
    def closed(self) -> bool:
        """Whether ``close`` was called."""

@final
class NativeElection:
    """An election: a lock of its name whose holder leads (the core's ``Election``)."""

    @property
    def name(self) -> str:
        """The election's name."""
    def campaign(self, value: str, timeout: Optional[float] = None) -> NativeLock:
        """Leads with ``value`` (blocking): waits up to ``timeout``, or tries once (None)."""
    def campaign_async(
        self, value: str, timeout: Optional[float] = None
    ) -> Awaitable[NativeLock]:
        """``campaign``, as an awaitable; cancelling it withdraws the campaign."""
    def leader(self) -> Optional[Leader]:
        """The current leader, or None (blocking)."""
    def leader_async(self) -> Awaitable[Optional[Leader]]:
        """``leader``, as an awaitable."""
    def observe(self) -> NativeObserver:
        """The leader changes, starting with the current leader."""

@final
class NativeClient:
    """A connection to a tenure cluster (one session at a time)."""

    @staticmethod
    def connect(endpoints: List[str], options: NativeOptions, lazy: bool = False) -> NativeClient:
        """Connects and opens a session (blocking); ``lazy`` opens none yet."""
    @staticmethod
    def connect_async(endpoints: List[str], options: NativeOptions) -> Awaitable[NativeClient]:
        """Connects and opens a session, as an awaitable."""
    def acquire(
        self,
        name: str,
        wait: Optional[float] = None,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
        permits: Optional[Tuple[int, int]] = None,
    ) -> NativeLock:
        """Acquires ``name`` (blocking). ``wait`` None tries once."""
    def acquire_async(
        self,
        name: str,
        wait: Optional[float] = None,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
        permits: Optional[Tuple[int, int]] = None,
    ) -> Awaitable[NativeLock]:
        """Acquires ``name``, as an awaitable; cancelling it withdraws the acquire."""
    def acquire_all(
        self,
        names: List[str],
        wait: Optional[float] = None,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> List[NativeLock]:
        """Acquires every lock of ``names`` at once or none (blocking): one
        lock per name, in order. ``wait`` None tries once (``LockHeld``);
        otherwise waits in every name's FIFO queue until it gets them all or
        the wait runs out (``Timeout``)."""
    def acquire_all_async(
        self,
        names: List[str],
        wait: Optional[float] = None,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
    ) -> Awaitable[List[NativeLock]]:
        """``acquire_all``, as an awaitable; cancelling it releases (in the
        background) whatever the call may have been granted."""
    def close(self) -> None:
        """Closes the session."""
    def close_async(self) -> Awaitable[None]:
        """Closes the session, as an awaitable."""
    def session_id(self) -> Optional[int]:
        """The current session's id, or None."""
    def session_id_async(self) -> Awaitable[Optional[int]]:
        """The current session's id, as an awaitable."""
    def session_state(self) -> str:
        """``"healthy"``, ``"jeopardy"`` or ``"expired"``."""
    def on_session_state(self, callback: Callable[[str], object]) -> NativeSubscription:
        """Calls ``callback(state)`` for every change of the session state."""
    def endpoints(self) -> List[str]:
        """The endpoints given at connect time."""
    def metrics(self) -> List[PrefixMetrics]:
        """This client's counters per lock-name prefix (local, no network)."""
    def metrics_text(self) -> str:
        """The same counters with wait and hold histograms, in the Prometheus
        text format (local, no network)."""
    def lock_scope(
        self,
        name: str,
        wait: Optional[float] = None,
        shared: bool = False,
        lock_delay: float = 0.0,
        value: str = "",
        permits: Optional[Tuple[int, int]] = None,
    ) -> NativeLockScope:
        """Starts the core's ``with_lock`` for Python work."""
    def watch(self, prefix: str = "", start_revision: int = 0) -> NativeWatcher:
        """Watches every lock under ``prefix`` from ``start_revision`` (no network yet)."""
    def election(self, name: str) -> NativeElection:
        """The election ``name`` (no network)."""
    def force_release(self, name: str, owner_id: str, reason: str = "") -> List[GrantInfo]:
        """Admin: frees ``name`` only if ``owner_id`` still holds it."""
    def force_release_async(
        self, name: str, owner_id: str, reason: str = ""
    ) -> Awaitable[List[GrantInfo]]:
        """``force_release``, as an awaitable."""
    def request_release(
        self, name: str, owner_id: Optional[str] = None, reason: str = ""
    ) -> List[GrantInfo]:
        """Asks the holders of ``name`` (only ``owner_id``, if given) to release it."""
    def request_release_async(
        self, name: str, owner_id: Optional[str] = None, reason: str = ""
    ) -> Awaitable[List[GrantInfo]]:
        """``request_release``, as an awaitable."""
    def blacklist(self, session_id: int, reason: str = "") -> float:
        """Admin: blacklists a session; returns the seconds until it expires."""
    def blacklist_async(self, session_id: int, reason: str = "") -> Awaitable[float]:
        """``blacklist``, as an awaitable."""
    def describe(self, name: str) -> Optional[LockInfo]:
        """Reads one lock."""
    def describe_async(self, name: str) -> Awaitable[Optional[LockInfo]]:
        """``describe``, as an awaitable."""
    def list_locks(self, prefix: str = "") -> List[LockInfo]:
        """Lists locks by name prefix."""
    def list_locks_async(self, prefix: str = "") -> Awaitable[List[LockInfo]]:
        """``list_locks``, as an awaitable."""
    def list_sessions(self) -> List[SessionInfo]:
        """Lists live sessions."""
    def list_sessions_async(self) -> Awaitable[List[SessionInfo]]:
        """``list_sessions``, as an awaitable."""
    def status(self) -> ClusterStatus:
        """The cluster status."""
    def status_async(self) -> Awaitable[ClusterStatus]:
        """``status``, as an awaitable."""
    def audit(self, limit: int = 100) -> List[AuditRecord]:
        """The most recent admin actions."""
    def audit_async(self, limit: int = 100) -> Awaitable[List[AuditRecord]]:
        """``audit``, as an awaitable."""
