"""Blocking API against a real cluster: acquire/release, contention, waits,
try-lock, shared mode, context managers, session ids and states."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

import tenure
from conftest import SCRIPTS, wait_until


def test_acquire_and_release(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client()
    lock = client.try_lock(name)
    assert lock.name == name
    assert lock.is_held()
    assert lock.lost_reason() is None
    assert 0 < lock.remaining() <= 3.0
    assert lock.mode is tenure.LockMode.EXCLUSIVE
    assert lock.session_id == client.session_id()
    assert len(lock.owner_id) == 32
    assert lock.fence == tenure.Fence(name, lock.fencing_token)
    info = admin.describe(name)
    assert info is not None
    assert [h.token for h in info.holders] == [lock.fencing_token]
    assert info.holders[0].owner_id == lock.owner_id
    assert info.holders[0].session_id == lock.session_id

    lock.release()
    assert not lock.is_held()
    assert lock.lost_reason() is tenure.LostReason.RELEASED
    assert lock.remaining() == 0.0
    lock.release()  # idempotent
    assert admin.describe(name) is None


def test_context_manager_releases(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client()
    with client.lock(name, timeout=5) as lock:
        assert lock.is_held()
        assert admin.describe(name) is not None
    assert lock.lost_reason() is tenure.LostReason.RELEASED
    assert admin.describe(name) is None


def test_context_manager_releases_on_exception(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client()
    with pytest.raises(KeyError):
        with client.lock(name, timeout=5):
            raise KeyError("boom")
    assert admin.describe(name) is None


def test_contention_between_two_clients(new_client, name):  # type: ignore[no-untyped-def]
    a, b = new_client(), new_client()
    first = a.lock(name, timeout=5)
    with pytest.raises(tenure.LockHeld):
        b.try_lock(name)
    got: list = []

    def waiter() -> None:
        got.append(b.lock(name, timeout=20))

    t = threading.Thread(target=waiter)
    t.start()
    # b waits in the server's queue while a holds the lock.
    assert wait_until(lambda: (info := a.describe(name)) is not None and len(info.waiters) == 1)
    assert not got
    assert first.is_held()
    first.release()
    t.join(20)
    assert len(got) == 1
    second = got[0]
    assert second.is_held()
    assert second.fencing_token > first.fencing_token
    assert second.session_id != first.session_id
    second.release()


def test_blocking_wait_times_out(new_client, name):  # type: ignore[no-untyped-def]
    a, b = new_client(), new_client()
    held = a.lock(name, timeout=5)
    with pytest.raises(tenure.Timeout) as err:
        b.lock(name, timeout=0.3)
    assert isinstance(err.value, TimeoutError)
    assert err.value.code == "TIMEOUT"
    assert held.is_held()
    # The timed-out acquire left the queue.
    info = a.describe(name)
    assert info is not None and info.waiters == []


def test_try_lock_raises_lock_held(new_client, name):  # type: ignore[no-untyped-def]
    a, b = new_client(), new_client()
    with a.try_lock(name):
        with pytest.raises(tenure.LockHeld) as err:
            b.try_lock(name)
        assert err.value.code == "LOCK_HELD"
        assert name in err.value.message
    # Free again: b gets it.
    b.try_lock(name).release()


def test_shared_locks(new_client, name):  # type: ignore[no-untyped-def]
    a, b, c = new_client(), new_client(), new_client()
    s1 = a.lock(name, timeout=5, shared=True)
    s2 = b.try_lock(name, shared=True)
    assert s1.mode is tenure.LockMode.SHARED and s2.mode == "shared"
    assert s1.is_held() and s2.is_held()
    with pytest.raises(tenure.LockHeld):
        c.try_lock(name)
    s1.release()
    s2.release()
    c.try_lock(name).release()


def test_lost_during_with_block_raises_lock_lost(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client()
    with pytest.raises(tenure.LockLost):
        with client.lock(name, timeout=5) as lock:
            admin.force_release(name, lock.owner_id, "test")
            assert lock.lost(timeout=10) is tenure.LostReason.FORCE_RELEASED


def test_session_state_and_close(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    assert client.session_state is tenure.SessionState.HEALTHY
    first_session = client.session_id()
    assert isinstance(first_session, int)
    lock = client.try_lock(name)
    client.close()
    assert client.session_state is tenure.SessionState.EXPIRED
    assert client.session_id() is None
    assert lock.lost(timeout=5) is tenure.LostReason.CLIENT_CLOSED
    assert not lock.is_held()
    # A later acquire opens a new session.
    again = client.try_lock(name)
    assert again.session_id != first_session
    assert client.session_state is tenure.SessionState.HEALTHY
    again.release()


def test_lazy_client_opens_session_on_first_acquire(endpoints, name):  # type: ignore[no-untyped-def]
    with tenure.Client(endpoints, lazy=True, ttl=3) as client:
        assert client.session_id() is None
        assert client.session_state is tenure.SessionState.EXPIRED
        with client.try_lock(name) as lock:
            assert client.session_id() == lock.session_id
        assert client.endpoints == endpoints.split(",")


def test_endpoints_from_environment(endpoints, monkeypatch, name):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TENURE_ENDPOINTS", endpoints)
    with tenure.Client(ttl=3) as client:
        client.try_lock(name).release()


def test_admin_lists(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client(label=f"label-{name}")
    with client.try_lock(name):
        locks = admin.list_locks(name)
        assert [l.name for l in locks] == [name]
        sessions = {s.session_id: s for s in admin.list_sessions()}
        mine = sessions[client.session_id()]
        assert mine.label == f"label-{name}"
        assert mine.held == [name]
        assert mine.ttl == 3.0
        assert not mine.blacklisted
        status = admin.status()
        assert status.leader_id is not None
        assert len(status.members) == 3
        assert status.next_token > 0


def test_keyboard_interrupt_withdraws_a_waiting_acquire(new_client, admin, endpoints, name):  # type: ignore[no-untyped-def]
    holder = new_client()
    held = holder.lock(name, timeout=5)
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "wait_interrupted.py"), endpoints, name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_until(
            lambda: (info := holder.describe(name)) is not None and len(info.waiters) == 1, 20
        ), "the subprocess never queued"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line:  # the script ended without answering: show why
            _, err = proc.communicate(timeout=20)
            raise AssertionError(f"wait_interrupted.py exited {proc.returncode}: {err}")
        assert line[0] == "interrupted", line
        session = int(line[1])
        # The waiter was withdrawn while its session is still open.
        assert wait_until(lambda: holder.describe(name).waiters == [], 10)  # type: ignore[union-attr]
        assert session in [s.session_id for s in admin.list_sessions()]
        out, err = proc.communicate("", timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    held.release()
    assert holder.describe(name) is None


def test_many_threads_take_turns(new_client, name):  # type: ignore[no-untyped-def]
    # Threads that contend for one lock each use their own client (session):
    # one session holds a lock at most once (AlreadyHeld), see the next test.
    clients = [new_client() for _ in range(4)]
    inside = []
    overlaps = []
    tokens = []

    def work(client: tenure.Client) -> None:
        for _ in range(3):
            with client.lock(name, timeout=30) as lock:
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(1)
                tokens.append(lock.fencing_token)
                time.sleep(0.01)
                inside.pop()

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(tokens) == 12
    assert not overlaps
    assert len(set(tokens)) == 12


def test_a_second_thread_on_the_holding_client_gets_already_held(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    errors: "list[BaseException]" = []

    def second() -> None:
        try:
            client.lock(name, timeout=10)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            errors.append(e)

    with client.try_lock(name):
        t = threading.Thread(target=second)
        t.start()
        t.join(30)
    assert len(errors) == 1 and isinstance(errors[0], tenure.AlreadyHeld), errors


def test_blocking_calls_release_the_gil(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    lock = client.try_lock(name)
    stop = threading.Event()
    counts = [0]

    def spin() -> None:
        while not stop.is_set():
            counts[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = counts[0]
        # A pure-Python thread keeps running while this thread waits in Rust.
        assert lock.lost(timeout=0.5) is None
        during = counts[0] - before
    finally:
        stop.set()
        t.join()
    assert during > 0
    lock.release()
