"""Watches and elections (blocking API): batches and resets, resuming by
revision, timeouts that lose nothing, close() ending a waiting iteration on
another thread, set_value, campaign/resign with `with`, observe."""

from __future__ import annotations

import threading
from typing import List, Optional

import pytest

import tenure
from conftest import wait_until


def changes(batch: tenure.WatchBatch) -> List[str]:
    return [e.change for e in batch.events]


def test_watch_reset_changes_and_resume(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    with client.watch(f"{name}/") as watcher:
        assert isinstance(watcher, tenure.Watcher)
        assert watcher.prefix == f"{name}/" and watcher.revision == 0
        first = watcher.next(timeout=10)
        assert first.reset and first.locks == [] and first.events == []
        assert watcher.revision == first.revision
        lock = client.try_lock(f"{name}/a", value="v1")
        lock.set_value("v2")
        lock.release()
        events: List[tenure.WatchEvent] = []
        for batch in watcher:
            assert not batch.reset and batch.revision == watcher.revision
            events.extend(batch.events)
            if len(events) >= 3:
                break
        assert [e.change for e in events] == ["granted", "value_changed", "released"]
        assert events[0].change == tenure.LockChange.GRANTED  # a str, equal to the enum
        assert [e.value for e in events[:2]] == ["v1", "v2"]
        assert {e.token for e in events} == {lock.fencing_token}
        assert {e.owner_id for e in events} == {lock.owner_id}
        assert all(e.mode == "exclusive" and e.name == f"{name}/a" for e in events)
        assert events[0].revision < events[1].revision < events[2].revision
        assert "WatchEvent(revision=" in repr(events[0])
        granted_at = events[0].revision

    assert watcher.closed
    # A new watcher resumed after the grant replays the rest, without a reset.
    resumed = client.watch(f"{name}/", granted_at)
    batch = resumed.next(timeout=10)
    assert not batch.reset and changes(batch) == ["value_changed", "released"]
    resumed.close()


def test_a_watch_that_cannot_resume_starts_over(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    lock = client.try_lock(f"{name}/held")
    # A revision the server has no changes after (here: one it has not
    # reached) cannot be replayed: the watch starts with the state instead.
    with client.watch(f"{name}/", 10**15) as watcher:
        batch = watcher.next(timeout=10)
        assert batch.reset
        assert [(l.name, l.holders[0].token) for l in batch.locks] == [
            (f"{name}/held", lock.fencing_token)
        ]
    lock.release()


def test_next_timeout_loses_nothing(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    watcher = client.watch(name)
    assert watcher.next(timeout=10).reset
    with pytest.raises(tenure.Timeout) as err:
        watcher.next(timeout=0.3)
    assert isinstance(err.value, TimeoutError)
    client.try_lock(name).release()
    seen: List[str] = []
    while len(seen) < 2:
        seen.extend(changes(watcher.next(timeout=10)))
    assert seen == ["granted", "released"]
    watcher.close()


def test_close_ends_a_waiting_iteration(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    watcher = client.watch(name)
    batches: List[tenure.WatchBatch] = []
    ended = threading.Event()

    def iterate() -> None:
        for batch in watcher:
            batches.append(batch)
        ended.set()

    t = threading.Thread(target=iterate)
    t.start()
    assert wait_until(lambda: len(batches) == 1)  # the reset; now it waits
    assert not ended.wait(0.3)
    watcher.close()
    assert ended.wait(10), "close() did not end the iteration"
    t.join(5)
    assert watcher.closed and len(batches) == 1
    with pytest.raises(tenure.Cancelled):
        watcher.next()
    with pytest.raises(StopIteration):
        next(watcher)
    watcher.close()  # idempotent


def test_observer_close_ends_a_waiting_iteration(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    observer = client.election(name).observe()
    leaders: List[Optional[tenure.Leader]] = []
    t = threading.Thread(target=lambda: leaders.extend(observer))
    t.start()
    assert wait_until(lambda: leaders == [None])  # nobody leads; now it waits
    observer.close()
    t.join(10)
    assert not t.is_alive(), "close() did not end the iteration"
    assert leaders == [None] and observer.closed
    with pytest.raises(tenure.Cancelled):
        observer.next(timeout=1)


def test_set_value_on_a_lost_lock(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    lock = client.try_lock(name, value="a")
    lock.set_value("b")
    info = client.describe(name)
    assert info is not None and info.holders[0].value == "b"
    with pytest.raises(tenure.InvalidArgument):
        lock.set_value("bad\nvalue")
    lock.release()
    with pytest.raises(tenure.LockLost):
        lock.set_value("c")


def test_election(new_client, name):  # type: ignore[no-untyped-def]
    a, b = new_client(), new_client()
    election = a.election(name)
    assert election.name == name and name in repr(election)
    assert election.leader() is None
    with election.campaign("node-a", timeout=5) as leading:
        assert isinstance(leading, tenure.Lock)
        leader = b.election(name).leader()
        assert leader is not None
        assert (leader.name, leader.value, leader.token, leader.owner_id, leader.session_id) == (
            name,
            "node-a",
            leading.fencing_token,
            leading.owner_id,
            leading.session_id,
        )
        with pytest.raises(tenure.LockHeld):
            b.election(name).try_campaign("node-b")
        with pytest.raises(tenure.Timeout):
            b.election(name).campaign("node-b", timeout=0.2)
        with observe(b, name) as observer:
            assert observer.next(timeout=10) == leader
            leading.set_value("node-a2")
            now = observer.next(timeout=10)
            assert now is not None and now.value == "node-a2" and now.token == leader.token
    # Leaving the block resigned.
    assert not leading.is_held() and a.election(name).leader() is None
    again = b.election(name).try_campaign("node-b")
    assert again.fencing_token > leading.fencing_token
    again.release()


def observe(client: tenure.Client, name: str) -> tenure.Observer:
    observer = client.election(name).observe()
    assert isinstance(observer, tenure.Observer) and observer.name == name
    return observer


def test_bad_prefix_and_name(new_client):  # type: ignore[no-untyped-def]
    client = new_client()
    with pytest.raises(tenure.InvalidArgument):
        client.watch("a\nb")
    with pytest.raises(tenure.InvalidArgument):
        client.election("")
