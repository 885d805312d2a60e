"""Error classes: hierarchy, stable codes, messages; errors of bad input."""

from __future__ import annotations

import pytest

import tenure

KINDS = {
    tenure.Unavailable: "UNAVAILABLE",
    tenure.Timeout: "TIMEOUT",
    tenure.LockHeld: "LOCK_HELD",
    tenure.LockLost: "LOCK_LOST",
    tenure.SessionExpired: "SESSION_EXPIRED",
    tenure.SessionBlacklisted: "SESSION_BLACKLISTED",
    tenure.NotHolder: "NOT_HOLDER",
    tenure.InvalidArgument: "INVALID_ARGUMENT",
    tenure.PermissionDenied: "PERMISSION_DENIED",
    tenure.ResourceExhausted: "RESOURCE_EXHAUSTED",
    tenure.Cancelled: "CANCELLED",
    tenure.InternalError: "INTERNAL",
}


@pytest.mark.parametrize("cls,code", list(KINDS.items()))
def test_hierarchy_and_codes(cls: type, code: str) -> None:
    assert issubclass(cls, tenure.TenureError)
    assert issubclass(cls, Exception)
    err = cls("the message")
    assert err.code == code
    assert err.message == "the message"
    assert str(err) == "the message"
    assert code in repr(err)


def test_builtin_bases() -> None:
    assert issubclass(tenure.Timeout, TimeoutError)
    assert issubclass(tenure.InvalidArgument, ValueError)
    assert not issubclass(tenure.LockHeld, TimeoutError)
    assert issubclass(tenure.ForkedClientError, RuntimeError)
    assert not issubclass(tenure.ForkedClientError, tenure.TenureError)
    assert len(set(KINDS.values())) == len(KINDS)


@pytest.mark.parametrize("bad", ["", "a\nb", "x" * 257])
def test_bad_lock_names(new_client, bad: str) -> None:  # type: ignore[no-untyped-def]
    client = new_client()
    with pytest.raises(tenure.InvalidArgument) as err:
        client.try_lock(bad)
    assert err.value.code == "INVALID_ARGUMENT"
    assert err.value.message


@pytest.mark.parametrize(
    "options",
    [
        {"ttl": 0.5},
        {"ttl": -1.0},
        {"ttl": float("nan")},
        {"drift": 0.7},
        {"call_timeout": 0.0},
        {"cert_file": "/nonexistent/cert.pem"},  # a certificate needs its key
    ],
)
def test_bad_options(endpoints: str, options: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(tenure.InvalidArgument) as err:
        tenure.Client(endpoints, **options)
    assert isinstance(err.value, ValueError)


def test_bad_endpoints() -> None:
    with pytest.raises(tenure.InvalidArgument):
        tenure.Client("no-port-here")
    with pytest.raises(tenure.InvalidArgument):
        tenure.Client([])


def test_no_endpoints_and_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TENURE_ENDPOINTS", raising=False)
    with pytest.raises(tenure.InvalidArgument):
        tenure.Client()


def test_unreachable_cluster_is_unavailable() -> None:
    from conftest import free_port_range

    port = free_port_range(1)
    with pytest.raises(tenure.Unavailable) as err:
        tenure.Client(f"127.0.0.1:{port}", call_timeout=1.0, attempt_timeout=0.2)
    assert err.value.code == "UNAVAILABLE"


def test_bad_timeout_values(new_client, name) -> None:  # type: ignore[no-untyped-def]
    client = new_client()
    with pytest.raises(tenure.InvalidArgument):
        client.lock(name, timeout=-1)
    with pytest.raises(tenure.InvalidArgument):
        client.lock(name, timeout=7200)  # the server allows waits up to one hour


def test_token_from_environment_is_sent(endpoints: str, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # The dev cluster needs no token; a token with a newline is
    # rejected by the core, which proves TENURE_TOKEN is read.
    monkeypatch.setenv("TENURE_TOKEN", "bad\ntoken")
    with pytest.raises(tenure.InvalidArgument):
        tenure.Client(endpoints)
    monkeypatch.setenv("TENURE_TOKEN", "fine-token")
    with tenure.Client(endpoints, ttl=3) as client:
        client.try_lock(name).release()


def test_kinds_and_enums_are_the_cores() -> None:
    from tenure import _errors, _native

    assert list(_errors.KINDS) == _native.ERROR_CODES
    assert [m.value for m in tenure.LostReason] == _native.LOST_REASONS
    assert [m.value for m in tenure.SessionState] == _native.SESSION_STATES
    assert [m.value for m in tenure.LockMode] == _native.LOCK_MODES
    assert [m.value for m in tenure.LockChange] == _native.LOCK_CHANGES


def test_async_client_constructor_says_what_to_call() -> None:
    with pytest.raises(TypeError, match="AsyncClient.connect"):
        tenure.AsyncClient(["127.0.0.1:1"])  # type: ignore[arg-type]
