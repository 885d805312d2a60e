"""Exceptions raised by tenure.

Every error from the lock service or the client core is a :class:`TenureError`
with a stable :attr:`~TenureError.code` (the same names in every language
binding) and the core's message. There is one subclass per error kind.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "TenureError",
    "Unavailable",
    "Timeout",
    "LockHeld",
    "LockLost",
    "SessionExpired",
    "SessionBlacklisted",
    "NotHolder",
    "InvalidArgument",
    "PermissionDenied",
    "ResourceExhausted",
    "Cancelled",
    "AlreadyHeld",
    "InternalError",
    "ForkedClientError",
]


class TenureError(Exception):
    """Base class of every tenure error.

    ``TenureError(message, code)`` makes the subclass of ``code`` (what the
    native layer raises for every core error); a subclass is made as usual,
    ``LockHeld(message)``.

    Attributes:
        code: The stable error kind, e.g. ``"LOCK_HELD"``.
        message: The message from the client core (without the code).
    """

    code: str = "INTERNAL"

    def __new__(cls, message: str = "", code: Optional[str] = None) -> "TenureError":
        if cls is TenureError and code is not None:
            cls = KINDS.get(code, InternalError)
        return super().__new__(cls, message)

    def __init__(self, message: str = "", code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message: str = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class Unavailable(TenureError):
    """No server could be reached, or none could serve the call in time."""

    code = "UNAVAILABLE"


class Timeout(TenureError, TimeoutError):
    """The call's deadline passed (for example a waiting acquire's timeout)."""

    code = "TIMEOUT"


class LockHeld(TenureError):
    """A try-acquire found the lock held by someone else."""

    code = "LOCK_HELD"


class LockLost(TenureError):
    """The lock is no longer held (session ended, force-released, or a storage
    rejected a stale fencing token)."""

    code = "LOCK_LOST"


class SessionExpired(TenureError):
    """The session expired (or was closed)."""

    code = "SESSION_EXPIRED"


class SessionBlacklisted(TenureError):
    """The session was blacklisted by an administrator."""

    code = "SESSION_BLACKLISTED"


class NotHolder(TenureError):
    """The grant named is not current (e.g. force-release of a stale owner id)."""

    code = "NOT_HOLDER"


class InvalidArgument(TenureError, ValueError):
    """The request was malformed; nothing changed."""

    code = "INVALID_ARGUMENT"


class PermissionDenied(TenureError):
    """The caller may not do this (bad or missing token, TLS identity)."""

    code = "PERMISSION_DENIED"


class ResourceExhausted(TenureError):
    """A server limit was reached."""

    code = "RESOURCE_EXHAUSTED"


class Cancelled(TenureError):
    """The call was cancelled."""

    code = "CANCELLED"


class AlreadyHeld(TenureError):
    """This client's session already holds the lock.

    A second acquire of a lock the same client holds fails at once instead of
    waiting behind itself; there is no silent reentrancy. Threads of one
    process that contend for a lock use their own clients, or a local lock.
    """

    code = "ALREADY_HELD"


class InternalError(TenureError):
    """A bug or an unexpected reply."""

    code = "INTERNAL"


class ForkedClientError(RuntimeError):
    """A client or lock created before ``fork()`` was used in the child process.

    Its session belongs to the parent (whose background threads do not exist in
    the child); create a new :class:`tenure.Client` in the child instead.
    """


KINDS: "dict[str, type[TenureError]]" = {
    cls.code: cls for cls in TenureError.__subclasses__()
}
"""The class of every error kind, by code, in the core's order (a test checks
that the codes are the core's ``ErrorKind::ALL``)."""
