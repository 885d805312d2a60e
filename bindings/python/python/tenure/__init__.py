"""tenure: a client for the tenure distributed lock service.

Blocking API::

    import tenure

    with tenure.Client("127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102") as client:
        with client.lock("jobs/nightly", timeout=10) as lock:
            write_somewhere(data, fence=lock.fence.header_value())

asyncio API::

    async with tenure.AsyncClient.connect(endpoints) as client:
        async with client.lock("jobs/nightly", timeout=10) as lock:
            await lock.run(do_work(lock.fencing_token))

Every lock carries a fencing token; storage that checks it (see
:class:`FenceValidator`, or a conditional SQL write) rejects the writes of a
holder that lost its lock without knowing. The client core (Rust) does the
work: sessions, heartbeats, client-side expiry, retries, fencing.
"""

from __future__ import annotations

import atexit

from . import _native
from ._async import (
    Acquiring,
    AcquiringAll,
    AsyncClient,
    AsyncElection,
    AsyncLock,
    AsyncLocks,
    AsyncObserver,
    AsyncSemaphore,
    AsyncWatcher,
    Connecting,
)
from ._client import Client, Election, Lock, Locks, Observer, Semaphore, Watcher
from ._common import Subscription
from ._errors import (
    Cancelled,
    AlreadyHeld,
    ForkedClientError,
    InternalError,
    InvalidArgument,
    LockHeld,
    LockLost,
    NotHolder,
    PermissionDenied,
    ResourceExhausted,
    SessionBlacklisted,
    SessionExpired,
    TenureError,
    Timeout,
    Unavailable,
)
from ._native import (
    FENCE_HEADER,
    MAX_ACQUIRE_ALL,
    AuditRecord,
    ClusterStatus,
    Fence,
    FenceValidator,
    GrantInfo,
    HolderInfo,
    Leader,
    LockInfo,
    MemberInfo,
    PrefixMetrics,
    SessionInfo,
    WaiterInfo,
    WatchBatch,
    WatchEvent,
)
from ._types import LockChange, LockMode, LostReason, SessionState

__version__: str = _native.__version__
"""The package version."""

__all__ = [
    "Acquiring",
    "AcquiringAll",
    "AsyncClient",
    "AsyncElection",
    "AsyncLock",
    "AsyncLocks",
    "AsyncObserver",
    "AsyncSemaphore",
    "AsyncWatcher",
    "AuditRecord",
    "Cancelled",
    "AlreadyHeld",
    "Client",
    "ClusterStatus",
    "Connecting",
    "Election",
    "FENCE_HEADER",
    "Fence",
    "FenceValidator",
    "ForkedClientError",
    "GrantInfo",
    "HolderInfo",
    "InternalError",
    "InvalidArgument",
    "Leader",
    "Lock",
    "LockHeld",
    "LockInfo",
    "LockChange",
    "LockLost",
    "LockMode",
    "Locks",
    "LostReason",
    "MAX_ACQUIRE_ALL",
    "MemberInfo",
    "NotHolder",
    "Observer",
    "PermissionDenied",
    "PrefixMetrics",
    "ResourceExhausted",
    "Semaphore",
    "SessionBlacklisted",
    "SessionExpired",
    "SessionInfo",
    "SessionState",
    "Subscription",
    "TenureError",
    "Timeout",
    "Unavailable",
    "WaiterInfo",
    "WatchBatch",
    "WatchEvent",
    "Watcher",
    "shutdown",
]


def shutdown(timeout: float = 1.0) -> None:
    """Closes every open client's session (best effort, within ``timeout``
    seconds) and stops the extension's background threads. Runs by itself at
    interpreter exit (``atexit``), so that no background thread is alive while
    the interpreter finalizes; afterwards every call raises RuntimeError."""
    _native.shutdown(timeout)


atexit.register(shutdown)
