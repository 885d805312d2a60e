"""Fenced writes to SQLite: a stale holder's write is rejected.

Holder A takes the lock and writes. Then A "stalls" (think GC pause); an
operator force-releases A's grant and B gets the lock with a higher fencing
token and writes. When A wakes up and writes with its old token, the
conditional UPDATE matches no row: the storage rejects the stale holder.

    TENURE_ENDPOINTS=127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102 python fenced_sqlite.py
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from pathlib import Path

import tenure


def setup(db: Path, resource: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, balance INTEGER, fence INTEGER)"
        )
        conn.execute("INSERT OR REPLACE INTO accounts VALUES (?, 0, 0)", (resource,))


def fenced_write(db: Path, fence: tenure.Fence, balance: int) -> bool:
    """Writes only if no newer holder has written (one conditional UPDATE)."""
    with sqlite3.connect(db) as conn:
        cur = conn.execute(
            "UPDATE accounts SET balance = ?, fence = ? WHERE name = ? AND fence <= ?",
            (balance, fence.token, fence.lock, fence.token),
        )
        return cur.rowcount == 1


def main() -> None:
    directory = Path(os.environ.get("TENURE_EXAMPLE_DIR") or tempfile.mkdtemp())
    db = directory / "fenced.sqlite3"
    resource = f"examples/fenced/{uuid.uuid4().hex[:8]}"
    setup(db, resource)

    with tenure.Client(ttl=10) as a, tenure.Client(ttl=10) as b, tenure.Client(lazy=True) as ops:
        lock_a = a.lock(resource, timeout=10)
        assert fenced_write(db, lock_a.fence, 100)
        print(f"A wrote 100 with token {lock_a.fencing_token}")

        # A stalls; the operator cuts it off (compare-and-swap on its owner id).
        ops.force_release(resource, lock_a.owner_id, "A is stuck")
        lock_b = b.lock(resource, timeout=10)
        assert fenced_write(db, lock_b.fence, 200)
        print(f"B wrote 200 with token {lock_b.fencing_token}")

        # A wakes up and writes with its old token.
        if fenced_write(db, lock_a.fence, 999):
            raise SystemExit("BUG: the stale write was accepted")
        print(f"A's write with token {lock_a.fencing_token}: stale write rejected")

        # A also learns it lost the lock (at its next renewal).
        print(f"A's lock: {lock_a.lost(timeout=10)}")
        lock_b.release()

    with sqlite3.connect(db) as conn:
        balance, fence = conn.execute(
            "SELECT balance, fence FROM accounts WHERE name = ?", (resource,)
        ).fetchone()
    print(f"final balance {balance} (fence {fence})")
    assert balance == 200


if __name__ == "__main__":
    main()
