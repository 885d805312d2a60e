"""Losing a lock: blacklisted session, force-release (the server cuts the
grant off), client close; on_lost callbacks and session-state callbacks;
release requests (advisory: the lock stays held)."""

from __future__ import annotations

import queue
import sys
import threading

import pytest

import tenure
from conftest import wait_until


def test_blacklist_makes_the_holder_lose_its_lock(new_client, admin, name):  # type: ignore[no-untyped-def]
    holder = new_client(ttl=3)
    lock = holder.lock(name, timeout=5)
    called: "queue.Queue[tenure.LostReason]" = queue.Queue()
    lock.on_lost(called.put)
    states: "queue.Queue[tenure.SessionState]" = queue.Queue()
    sub = holder.on_session_state(states.put)

    left = admin.blacklist(lock.session_id, "pytest: zombie")
    assert 0 < left <= 3.0
    # The holder learns at its next renewal (every ttl/3), well before expiry.
    reason = lock.lost(timeout=10)
    assert reason is tenure.LostReason.SESSION_BLACKLISTED
    assert not lock.is_held()
    assert lock.lost_reason() is tenure.LostReason.SESSION_BLACKLISTED
    assert called.get(timeout=5) is tenure.LostReason.SESSION_BLACKLISTED
    assert called.empty()
    assert holder.session_state is tenure.SessionState.EXPIRED
    assert states.get(timeout=5) is tenure.SessionState.EXPIRED
    sub.cancel()
    assert sub.cancelled

    sessions = {s.session_id: s for s in admin.list_sessions()}
    if lock.session_id in sessions:  # until it expires at its deadline
        assert sessions[lock.session_id].blacklisted
    records = admin.audit(50)
    assert any(r.action == "blacklist" and str(lock.session_id) in r.target for r in records)

    # The blacklisted session keeps the lock until its deadline (G6); then the
    # lock is free again and the client opens a fresh session for new work.
    again = holder.lock(name, timeout=10)
    assert again.session_id != lock.session_id
    assert again.fencing_token > lock.fencing_token
    again.release()


def test_force_release_cuts_the_holder_off_and_hands_over(new_client, admin, name):  # type: ignore[no-untyped-def]
    a, b = new_client(ttl=3), new_client(ttl=3)
    old = a.lock(name, timeout=5)
    lost_reasons: "queue.Queue[tenure.LostReason]" = queue.Queue()
    old.on_lost(lost_reasons.put)

    got: list = []
    t = threading.Thread(target=lambda: got.append(b.lock(name, timeout=20)))
    t.start()
    assert wait_until(lambda: len(admin.describe(name).waiters) == 1)  # type: ignore[union-attr]

    grants = admin.force_release(name, old.owner_id, "pytest: stuck holder")
    t.join(20)
    assert len(got) == 1
    new = got[0]
    assert [(g.name, g.token, g.owner_id, g.session_id) for g in grants] == [
        (name, new.fencing_token, new.owner_id, new.session_id)
    ]
    assert new.fencing_token > old.fencing_token

    # The old holder is told at its next renewal.
    assert old.lost(timeout=10) is tenure.LostReason.FORCE_RELEASED
    assert lost_reasons.get(timeout=5) is tenure.LostReason.FORCE_RELEASED
    assert not old.is_held()
    # Its session lives on.
    assert a.session_state is tenure.SessionState.HEALTHY
    old.release()  # idempotent, no error

    # A second force-release of the stale grant is a failed compare-and-swap.
    with pytest.raises(tenure.NotHolder) as err:
        admin.force_release(name, old.owner_id, "again")
    assert err.value.code == "NOT_HOLDER"
    records = admin.audit(50)
    assert any(r.action == "force-release" and r.target == name for r in records)
    new.release()


def test_on_lost_after_loss_runs_soon(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    lock = client.try_lock(name)
    lock.release()
    called: "queue.Queue[tenure.LostReason]" = queue.Queue()
    lock.on_lost(called.put)
    assert called.get(timeout=5) is tenure.LostReason.RELEASED


def test_on_lost_callback_exception_does_not_break_others(new_client, name, monkeypatch):  # type: ignore[no-untyped-def]
    client = new_client()
    lock = client.try_lock(name)
    called: "queue.Queue[tenure.LostReason]" = queue.Queue()
    reported: "queue.Queue[BaseException]" = queue.Queue()
    monkeypatch.setattr(sys, "unraisablehook", lambda u: reported.put(u.exc_value))

    def bad(reason: tenure.LostReason) -> None:
        raise RuntimeError("callback bug")

    lock.on_lost(bad)
    lock.on_lost(called.put)
    client.close()
    assert called.get(timeout=5) is tenure.LostReason.CLIENT_CLOSED
    err = reported.get(timeout=5)
    assert isinstance(err, RuntimeError) and str(err) == "callback bug"


def test_lost_times_out_while_held(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    with client.try_lock(name) as lock:
        assert lock.lost(timeout=0.2) is None
        assert lock.is_held()


def test_on_lost_callback_may_call_the_blocking_api(new_client, admin, name):  # type: ignore[no-untyped-def]
    holder, other = new_client(), new_client()
    lock = holder.lock(name, timeout=5)
    results: "queue.Queue[object]" = queue.Queue()

    def take_over(reason: tenure.LostReason) -> None:
        try:
            # on_lost(RELEASED) fires before the release reaches the server: wait.
            results.put(other.lock(name, timeout=10))
        except BaseException as e:  # reported to the test
            results.put(e)

    lock.on_lost(take_over)
    lock.release()
    got = results.get(timeout=10)
    assert isinstance(got, tenure.Lock), got
    assert got.fencing_token > lock.fencing_token
    got.release()


def test_release_request_is_advisory(new_client, admin, name):  # type: ignore[no-untyped-def]
    holder = new_client()
    lock = holder.try_lock(name)
    assert lock.wait_revoke_requested(timeout=0.2) is False
    assert admin.request_release(name, reason="pytest: deploy")[0].owner_id == lock.owner_id
    assert lock.wait_revoke_requested(timeout=10) is True
    # Registered after the request: runs soon, once.
    called: "queue.Queue[None]" = queue.Queue()
    lock.on_revoke_requested(lambda: called.put(None))
    called.get(timeout=5)
    assert lock.is_held() and lock.lost_reason() is None
    records = admin.audit(50)
    assert any(r.action == "request-release" and r.target == name for r in records)
    lock.release()
    assert lock.wait_revoke_requested() is True  # asked before it ended
    assert admin.request_release(name) == []


def test_wait_revoke_requested_ends_with_the_lock(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    lock = client.try_lock(name)
    done: "queue.Queue[bool]" = queue.Queue()
    t = threading.Thread(target=lambda: done.put(lock.wait_revoke_requested()))
    t.start()
    lock.release()
    assert done.get(timeout=10) is False
    t.join(5)
    assert not lock.revoke_requested
