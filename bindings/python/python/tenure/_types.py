"""Enumerations shared by the sync and asyncio APIs."""

from __future__ import annotations

import enum

__all__ = ["LockMode", "LostReason", "SessionState"]


class LockMode(str, enum.Enum):
    """Lock mode. Members compare equal to their string values."""

    EXCLUSIVE = "exclusive"
    """One holder at a time."""
    SHARED = "shared"
    """Many shared holders, no exclusive one."""


class LostReason(str, enum.Enum):
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


class SessionState(str, enum.Enum):
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
