"""Enumerations shared by the sync and asyncio APIs."""

from __future__ import annotations

import enum

__all__ = ["LockChange", "LockMode", "LostReason", "SessionState"]


class _StrEnum(str, enum.Enum):
    """A str enum whose str() and format() are the value (e.g. ``released``)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class LockMode(_StrEnum):
    """Lock mode. Members compare equal to their string values."""

    EXCLUSIVE = "exclusive"
    """One holder at a time."""
    SHARED = "shared"
    """Many shared holders, no exclusive one."""
    PERMITS = "permits"
    """Permits of a counting semaphore (:meth:`tenure.Client.semaphore`)."""


class LockChange(_StrEnum):
    """What happened to a lock, as a watch reports it (``WatchEvent.change``,
    a str that compares equal to these members)."""

    GRANTED = "granted"
    """A grant was made (at once, or to a waiter: then ``request_id`` is set)."""
    RELEASED = "released"
    """The holder released it, or closed its session."""
    EXPIRED = "expired"
    """The holder's session expired."""
    FORCE_RELEASED = "force_released"
    """An administrator force-released the grant."""
    WAITER_ADDED = "waiter_added"
    """An acquire started waiting."""
    WAITER_REMOVED = "waiter_removed"
    """A waiting acquire left the queue without a grant (cancelled, timed out,
    or its session ended)."""
    VALUE_CHANGED = "value_changed"
    """The holder replaced its value (``Lock.set_value``)."""
    RELEASE_REQUESTED = "release_requested"
    """Someone asked the holder to release (``request_release``)."""


class LostReason(_StrEnum):
    """Why a lock stopped being held. Members compare equal to their values."""

    RELEASED = "released"
    """Released by its holder."""
    SESSION_EXPIRED = "session_expired"
    """The session expired (locally or on the server)."""
    SESSION_BLACKLISTED = "session_blacklisted"
    """The session was blacklisted by an administrator."""
    FORCE_RELEASED = "force_released"
    """An administrator force-released this grant."""
    CLIENT_CLOSED = "client_closed"
    """The client was closed."""


class SessionState(_StrEnum):
    """Health of the client's session. Members compare equal to their values."""

    HEALTHY = "healthy"
    """The last renewal succeeded."""
    JEOPARDY = "jeopardy"
    """Renewals are failing but the local expiry has not passed: locks are
    still held; the client keeps retrying every endpoint."""
    EXPIRED = "expired"
    """The local expiry passed or the server ended the session (or there is
    none yet). Every lock of the session is lost; the next acquire opens a new
    session."""
