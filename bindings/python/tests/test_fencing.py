"""Fencing tokens: Fence and FenceValidator, and fenced writes to a real
SQLite file that reject a stale holder after its lock passed on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import tenure


def test_fence_header_roundtrip() -> None:
    for lock in ["jobs/nightly", "a=b", "with space", "ünï", "100%"]:
        f = tenure.Fence(lock, 42)
        value = f.header_value()
        assert value.isascii() and " " not in value
        assert tenure.Fence.parse(value) == f
        assert str(f) == value
    assert tenure.Fence("jobs/x", 7).header_value() == "jobs/x=7"
    assert tenure.FENCE_HEADER == "tenure-fence"
    f = tenure.Fence("x", 1)
    assert (f.lock, f.token) == ("x", 1)
    assert hash(f) == hash(tenure.Fence("x", 1))
    assert f != tenure.Fence("x", 2)
    assert repr(f) == "Fence(lock='x', token=1)"


@pytest.mark.parametrize("bad", ["", "noequals", "x=", "=5", "x=-1", "x=abc", "bad%zz=1"])
def test_fence_parse_rejects_garbage(bad: str) -> None:
    with pytest.raises(tenure.InvalidArgument) as err:
        tenure.Fence.parse(bad)
    assert isinstance(err.value, ValueError)
    assert err.value.code == "INVALID_ARGUMENT"


def test_fence_validator_rejects_lower_tokens() -> None:
    v = tenure.FenceValidator()
    assert v.highest("a") is None
    v.check(tenure.Fence("a", 5))
    v.check(tenure.Fence("a", 5))  # the same holder writes again
    with pytest.raises(tenure.LockLost) as err:
        v.check(tenure.Fence("a", 4))
    assert err.value.code == "LOCK_LOST"
    v.check(tenure.Fence("b", 1))  # per lock
    assert v.check_header("a=9") == tenure.Fence("a", 9)
    with pytest.raises(tenure.LockLost):
        v.check_header("a=8")
    assert v.highest("a") == 9


def _fenced_update(db: Path, fence: tenure.Fence, value: str) -> bool:
    """The storage side: one conditional write; False if the token is stale."""
    with sqlite3.connect(db) as conn:
        cur = conn.execute(
            "UPDATE resource SET value = ?, fence = ? WHERE name = ? AND fence <= ?",
            (value, fence.token, fence.lock, fence.token),
        )
        return cur.rowcount == 1


def test_fenced_sqlite_writes_reject_a_stale_holder(new_client, admin, name, tmp_path):  # type: ignore[no-untyped-def]
    db = tmp_path / "fenced.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE resource (name TEXT PRIMARY KEY, value TEXT, fence INTEGER)")
        conn.execute("INSERT INTO resource VALUES (?, '', 0)", (name,))

    a, b = new_client(), new_client()
    old = a.lock(name, timeout=5)
    assert _fenced_update(db, old.fence, "written by a")

    # a stalls (a GC pause, say); an administrator force-releases its grant
    # and b gets the lock with a higher token and writes.
    admin.force_release(name, old.owner_id, "pytest: a is stuck")
    new = b.lock(name, timeout=10)
    assert new.fencing_token > old.fencing_token
    assert _fenced_update(db, new.fence, "written by b")

    # a wakes up and writes with its old token: rejected by the storage.
    assert not _fenced_update(db, old.fence, "late write by a")
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT value, fence FROM resource WHERE name = ?", (name,)).fetchone()
    assert row == ("written by b", new.fencing_token)
    # b may keep writing with its token.
    assert _fenced_update(db, new.fence, "b again")
    # And a learns it lost the lock.
    assert old.lost(timeout=10) is tenure.LostReason.FORCE_RELEASED
    new.release()
