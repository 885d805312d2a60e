"""The shared scenario list (tests/scenarios.toml), run by the Python binding
against real `tenure server` processes (tenure-testkit). A scenario of the
file without a ``scenario_<id>`` function here fails."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

import tenure
from conftest import REPO, SCRIPTS, tenure_bin, wait_until

SCENARIOS = REPO / "tests" / "scenarios.toml"


def listed() -> List[str]:
    """The scenario ids of tests/scenarios.toml, in order."""
    return re.findall(r'^id = "([a-z0-9_]+)"$', SCENARIOS.read_text(), re.M)


class Kit:
    """A tenure-testkit process: a cluster of real server processes."""

    def __init__(self) -> None:
        binary = Path(os.environ.get("TENURE_TESTKIT", tenure_bin().parent / "tenure-testkit"))
        self.proc = subprocess.Popen(
            [str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.endpoints: str = self._answer()["endpoints"]

    def _answer(self) -> Dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"tenure-testkit exited ({self.proc.wait()})")
        answer: Dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def send(self, command: str) -> Dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


@pytest.fixture(scope="module")
def shared_kit() -> Iterator[Kit]:
    kit = Kit()
    yield kit
    kit.stop()


# Scenarios that stop or kill nodes get a cluster of their own.
OWN_CLUSTER = {"jeopardy_then_expired", "leader_killed_lock_held", "retried_request_applies_once"}


@pytest.mark.parametrize("scenario_id", listed())
def test_scenario(scenario_id: str, request: pytest.FixtureRequest) -> None:
    run: Callable[[Kit], None] | None = globals().get(f"scenario_{scenario_id}")
    if run is None:
        pytest.fail(f"tests/scenarios.toml lists {scenario_id!r} but Python has no scenario_{scenario_id}")
    if scenario_id in OWN_CLUSTER:
        kit = Kit()
        try:
            run(kit)
        finally:
            kit.stop()
    else:
        run(request.getfixturevalue("shared_kit"))


def test_no_scenario_outside_the_list() -> None:
    here = {n[len("scenario_"):] for n in globals() if n.startswith("scenario_")}
    assert here == set(listed())


def client(kit: Kit, ttl: float = 5.0) -> tenure.Client:
    return tenure.Client(kit.endpoints, ttl=ttl)


def admin(kit: Kit) -> tenure.Client:
    return tenure.Client(kit.endpoints, lazy=True)


def waiters(kit: Kit, name: str) -> int:
    info = admin(kit).describe(name)
    return 0 if info is None else len(info.waiters)


def script(*args: str, env: Dict[str, str] | None = None) -> "subprocess.Popen[str]":
    full_env = dict(os.environ, **(env or {}))
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / "scenario_holder.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


def scenario_acquire_release_rising_tokens(kit: Kit) -> None:
    c = client(kit)
    last = 0
    for _ in range(3):
        with c.try_lock("py/rising") as lock:
            assert lock.fencing_token > last
            last = lock.fencing_token
        assert not lock.is_held()
        assert c.describe("py/rising") is None
    c.close()


def scenario_fifo_handover_three_waiters(kit: Kit) -> None:
    async def main() -> None:
        holder = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        first = await holder.try_lock("py/fifo")
        clients = [await tenure.AsyncClient.connect(kit.endpoints, ttl=5) for _ in range(3)]
        tasks = []
        for i, c in enumerate(clients):
            tasks.append(asyncio.ensure_future(c.lock("py/fifo", timeout=30)))
            while waiters(kit, "py/fifo") < i + 1:
                await asyncio.sleep(0.02)
        token = first.fencing_token
        await first.release()
        for task in tasks:
            lock = await task
            assert lock.fencing_token > token
            token = lock.fencing_token
            await lock.release()
        for c in [holder, *clients]:
            await c.close()

    asyncio.run(main())


def scenario_wait_timeout(kit: Kit) -> None:
    a, b = client(kit), client(kit)
    with a.try_lock("py/timeout"):
        with pytest.raises(tenure.Timeout):
            b.lock("py/timeout", timeout=0.3)
        assert waiters(kit, "py/timeout") == 0
    a.close()
    b.close()


def scenario_try_lock(kit: Kit) -> None:
    a, b = client(kit), client(kit)
    with a.try_lock("py/try"):
        with pytest.raises(tenure.LockHeld):
            b.try_lock("py/try")
    b.try_lock("py/try").release()
    a.close()
    b.close()


def scenario_already_held(kit: Kit) -> None:
    async def main() -> None:
        a = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        b = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        held = await a.try_lock("py/again")
        with pytest.raises(tenure.AlreadyHeld):
            await a.try_lock("py/again")
        # Queued behind its own grant it would end with Timeout, not AlreadyHeld.
        with pytest.raises(tenure.AlreadyHeld):
            await a.lock("py/again", timeout=10)
        assert waiters(kit, "py/again") == 0
        task = asyncio.ensure_future(b.lock("py/again", timeout=20))
        deadline = time.monotonic() + 10
        while waiters(kit, "py/again") < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert waiters(kit, "py/again") == 1
        first = held.fencing_token
        await held.release()
        theirs = await task
        assert theirs.fencing_token > first
        await theirs.release()
        again = await a.try_lock("py/again")
        assert again.fencing_token > theirs.fencing_token
        await again.release()
        await a.close()
        await b.close()

    asyncio.run(main())


def scenario_lock_value(kit: Kit) -> None:
    async def main() -> None:
        a = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        b = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        held = await a.try_lock("py/valued", value="a at 10.0.0.1:80")
        task = asyncio.ensure_future(b.lock("py/valued", timeout=20, value="b\twaits"))
        deadline = time.monotonic() + 10
        while waiters(kit, "py/valued") < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        info = admin(kit).describe("py/valued")
        assert info is not None
        assert [h.value for h in info.holders] == ["a at 10.0.0.1:80"]
        assert [w.value for w in info.waiters] == ["b\twaits"]
        listed = admin(kit).list_locks("py/valued")
        assert listed[0].holders[0].value == "a at 10.0.0.1:80"
        await held.release()
        theirs = await task
        info = admin(kit).describe("py/valued")
        assert info is not None and info.holders[0].value == "b\twaits"
        await theirs.release()
        for bad in ("v" * 1025, "two\nlines"):
            with pytest.raises(tenure.InvalidArgument):
                await a.try_lock("py/valued", value=bad)
        assert admin(kit).describe("py/valued") is None
        await a.close()
        await b.close()

    asyncio.run(main())


def scenario_semaphore(kit: Kit) -> None:
    async def main() -> None:
        a, b, c, d = [await tenure.AsyncClient.connect(kit.endpoints, ttl=5) for _ in range(4)]
        one = await a.semaphore("py/sem", 2).try_acquire()
        two = await b.semaphore("py/sem", 2).try_acquire()
        assert two.fencing_token > one.fencing_token and two.owner_id != one.owner_id
        with pytest.raises(tenure.LockHeld):
            await c.semaphore("py/sem", 2).try_acquire()
        with pytest.raises(tenure.InvalidArgument):
            await c.semaphore("py/sem", 3).try_acquire()
        with pytest.raises(tenure.InvalidArgument):
            await c.try_lock("py/sem")
        task = asyncio.ensure_future(c.semaphore("py/sem", 2).acquire(timeout=20))
        deadline = time.monotonic() + 10
        while waiters(kit, "py/sem") < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert waiters(kit, "py/sem") == 1
        await one.release()
        three = await task
        assert three.fencing_token > two.fencing_token
        await b.close()
        four = await d.semaphore("py/sem", 2).try_acquire()
        info = admin(kit).describe("py/sem")
        assert info is not None and info.permit_limit == 2
        assert sum(h.permits for h in info.holders) == 2
        await three.release()
        await four.release()
        for x in (a, c, d):
            await x.close()

    asyncio.run(main())


def scenario_revoke_request(kit: Kit) -> None:
    holder, other = client(kit, ttl=3), client(kit, ttl=3)
    lock = holder.try_lock("py/revoke")
    calls: "queue.Queue[None]" = queue.Queue()
    lock.on_revoke_requested(lambda: calls.put(None))
    assert not lock.revoke_requested
    assert other.request_release("py/revoke", f"{7:032x}", "not it") == []
    asked = other.request_release("py/revoke", reason="deploy")
    assert [(g.name, g.owner_id, g.token, g.session_id) for g in asked] == [
        ("py/revoke", lock.owner_id, lock.fencing_token, lock.session_id)
    ]
    assert lock.wait_revoke_requested(timeout=10), "holder told within a few keepalives"
    assert lock.revoke_requested
    calls.get(timeout=5)
    # Every renewal repeats the request until the grant ends: over two more
    # keepalive intervals the callback still ran only once.
    time.sleep(2.5)
    assert calls.empty(), "callback ran twice"
    info = other.describe("py/revoke")
    assert info is not None and [h.release_requested for h in info.holders] == [True]
    # Still held: the holder decides.
    assert lock.is_held()
    with pytest.raises(tenure.LockHeld):
        other.try_lock("py/revoke")
    got: List[tenure.Lock] = []
    waiting = threading.Thread(target=lambda: got.append(other.lock("py/revoke", timeout=20)))
    waiting.start()
    assert wait_until(lambda: waiters(kit, "py/revoke") == 1)
    lock.release()
    waiting.join(20)
    assert len(got) == 1
    nxt = got[0]
    assert nxt.fencing_token > lock.fencing_token
    assert not nxt.revoke_requested
    info = holder.describe("py/revoke")
    assert info is not None and [h.release_requested for h in info.holders] == [False]
    nxt.release()
    holder.close()
    other.close()


def next_batch(watcher: tenure.Watcher) -> tenure.WatchBatch:
    """The next batch of a watcher, within 10 seconds."""
    return watcher.next(timeout=10)


def next_leader(observer: tenure.Observer) -> "tenure.Leader | None":
    """The next leader an observer reports, within 10 seconds."""
    return observer.next(timeout=10)


def scenario_watch_prefix(kit: Kit) -> None:
    a, b = client(kit), client(kit)
    first = a.try_lock("py/w/a", value="a1")
    watcher = a.watch("py/w/", 0)
    reset = next_batch(watcher)
    assert reset.reset and reset.events == [], reset
    assert len(reset.locks) == 1
    assert reset.locks[0].holders[0].value == "a1"
    got: List[tenure.Lock] = []
    waiting = threading.Thread(target=lambda: got.append(b.lock("py/w/a", timeout=20)))
    waiting.start()
    added = next_batch(watcher)
    assert [e.change for e in added.events] == ["waiter_added"]
    resume_at = added.revision
    assert resume_at > reset.revision
    # Not under the prefix: not reported.
    other = a.try_lock("py/x/other")
    first.release()
    waiting.join(20)
    assert len(got) == 1
    second = got[0]
    second.set_value("b2")
    seen: List[tenure.WatchEvent] = []
    last = resume_at
    while len(seen) < 3:
        batch = next_batch(watcher)
        assert not batch.reset
        for e in batch.events:
            assert e.revision > last, "revisions must increase"
            last = e.revision
            assert e.name == "py/w/a"
            seen.append(e)
    assert [e.change for e in seen] == ["released", "granted", "value_changed"]
    assert seen[0].token == first.fencing_token
    assert seen[1].token == second.fencing_token
    assert seen[1].request_id > 0 and seen[1].session_id == second.session_id
    assert seen[2].value == "b2"
    # A second watcher resumes after the waiter_added batch: no reset.
    again: List[str] = []
    with b.watch("py/w/", resume_at) as resumed:
        for batch in resumed:
            assert not batch.reset, f"resumed with a reset: {batch!r}"
            again.extend(e.change for e in batch.events)
            if len(again) >= 3:
                break
    assert again == ["released", "granted", "value_changed"]
    watcher.close()
    other.release()
    second.release()
    a.close()
    b.close()


def scenario_election(kit: Kit) -> None:
    a, b, watching = client(kit, ttl=3), client(kit, ttl=3), client(kit, ttl=3)
    leading = a.election("py/e/leader").campaign("n1", timeout=5)
    observer = watching.election("py/e/leader").observe()
    seen = next_leader(observer)
    assert seen is not None, "a leader"
    assert (seen.value, seen.token) == ("n1", leading.fencing_token)
    candidate = b.election("py/e/leader")
    got: List[tenure.Lock] = []
    waiting = threading.Thread(target=lambda: got.append(candidate.campaign("n2", timeout=20)))
    waiting.start()
    assert wait_until(lambda: waiters(kit, "py/e/leader") == 1), "b waits"
    leading.set_value("n1b")
    seen = next_leader(observer)
    assert seen is not None, "still a"
    assert (seen.value, seen.token) == ("n1b", leading.fencing_token)
    leading.release()
    assert next_leader(observer) is None, "the leader going away"
    waiting.join(20)
    assert len(got) == 1, "b leads"
    second = got[0]
    seen = next_leader(observer)
    assert seen is not None, "b"
    assert seen.value == "n2"
    assert seen.token == second.fencing_token
    assert seen.token > leading.fencing_token
    b.close()
    assert next_leader(observer) is None, "the closed leader going away"
    assert watching.election("py/e/leader").leader() is None
    observer.close()
    assert list(observer) == []
    a.close()
    watching.close()


def scenario_acquire_all(kit: Kit) -> None:
    a, b = client(kit), client(kit)
    both = a.acquire_all(["py/m/a", "py/m/b"])
    assert [lock.name for lock in both] == ["py/m/a", "py/m/b"]
    assert both[0].owner_id != both[1].owner_id
    assert both[1].fencing_token > both[0].fencing_token
    both.release()
    held = b.try_lock("py/m/b")
    with pytest.raises(tenure.LockHeld):
        a.acquire_all(["py/m/c", "py/m/b"])
    assert a.describe("py/m/c") is None, "m/c stays free"
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(a.acquire_all, ["py/m/c", "py/m/b"], 20)
        time.sleep(0.3)
        assert not waiting.done()
        # Queued in both queues (FIFO), holding neither.
        info = a.describe("py/m/c")
        assert info is None or info.holders == [], "m/c is not held while waiting"
        held.release()
        got = waiting.result(30)
    assert [lock.name for lock in got] == ["py/m/c", "py/m/b"]
    assert got[1].fencing_token > held.fencing_token
    with pytest.raises(tenure.InvalidArgument):
        a.acquire_all(["py/m/d", "py/m/d"])
    with got:
        pass
    assert a.describe("py/m/c") is None and a.describe("py/m/b") is None
    a.close()
    b.close()


def scenario_cancel_withdraws(kit: Kit) -> None:
    async def main() -> None:
        a = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        b = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        held = await a.try_lock("py/cancel")
        task = asyncio.ensure_future(b.lock("py/cancel", timeout=30))
        while waiters(kit, "py/cancel") < 1:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        deadline = time.monotonic() + 5
        while waiters(kit, "py/cancel") and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert waiters(kit, "py/cancel") == 0
        await held.release()
        await a.close()
        await b.close()

    asyncio.run(main())


def scenario_shared_mode(kit: Kit) -> None:
    a, b, c = client(kit), client(kit), client(kit)
    one = a.try_lock("py/shared", shared=True)
    two = b.try_lock("py/shared", shared=True)
    assert one.is_held() and two.is_held()
    with pytest.raises(tenure.LockHeld):
        c.try_lock("py/shared")
    one.release()
    with pytest.raises(tenure.LockHeld):
        c.try_lock("py/shared")
    two.release()
    c.try_lock("py/shared").release()
    for x in (a, b, c):
        x.close()


def scenario_lost_after_blacklist(kit: Kit) -> None:
    c = client(kit, ttl=3)
    lock = c.try_lock("py/blacklist")
    admin(kit).blacklist(lock.session_id, "scenario")
    assert lock.lost(timeout=10) is tenure.LostReason.SESSION_BLACKLISTED
    assert not lock.is_held()


def scenario_lost_after_sigstop(kit: Kit) -> None:
    holder = script("pause", kit.endpoints, "py/pause")
    assert holder.stdout is not None
    stale = int(holder.stdout.readline().split()[1])
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        nxt = client(kit)
        lock = nxt.lock("py/pause", timeout=20)
        assert lock.fencing_token > stale
        storage = tenure.FenceValidator()
        storage.check(lock.fence)
    finally:
        os.kill(holder.pid, signal.SIGCONT)
    resumed = time.monotonic()
    line = holder.stdout.readline().split()
    assert line == ["lost", "session_expired"], line
    assert time.monotonic() - resumed < 1.0, "is_held() stayed true after the resume"
    with pytest.raises(tenure.LockLost):
        storage.check(tenure.Fence("py/pause", stale))
    assert holder.wait(10) == 0
    lock.release()
    nxt.close()


def scenario_jeopardy_then_expired(kit: Kit) -> None:
    c = client(kit, ttl=2)
    lock = c.try_lock("py/jeopardy")
    seen: List[tenure.SessionState] = []
    c.on_session_state(seen.append)
    kit.send("pause-all")
    try:
        assert wait_until(lambda: tenure.SessionState.EXPIRED in seen, timeout=10), seen
    finally:
        kit.send("resume-all")
    assert seen[:2] == [tenure.SessionState.JEOPARDY, tenure.SessionState.EXPIRED], seen
    assert lock.lost_reason() is tenure.LostReason.SESSION_EXPIRED


def scenario_force_release(kit: Kit) -> None:
    async def main() -> None:
        holder = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        waiter = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)
        boss = await tenure.AsyncClient.connect(kit.endpoints, lazy=True)
        old = await holder.try_lock("py/force")
        task = asyncio.ensure_future(waiter.lock("py/force", timeout=30))
        while waiters(kit, "py/force") < 1:
            await asyncio.sleep(0.02)
        grants = await boss.force_release("py/force", old.owner_id, "scenario")
        assert len(grants) == 1
        new = await task
        assert new.fencing_token > old.fencing_token
        assert await old.lost() is tenure.LostReason.FORCE_RELEASED
        with pytest.raises(tenure.NotHolder):
            await boss.force_release("py/force", old.owner_id, "again")
        await new.release()
        await holder.close()
        await waiter.close()

    asyncio.run(main())


def scenario_leader_killed_lock_held(kit: Kit) -> None:
    c = client(kit, ttl=3)
    lock = c.try_lock("py/failover")
    session = c.session_id()
    kit.send("kill-leader")
    time.sleep(6)  # two TTLs across the failover
    assert lock.is_held(), lock.lost_reason()
    assert c.session_id() == session
    assert c.session_state is tenure.SessionState.HEALTHY
    lock.release()
    c.close()


def scenario_retried_request_applies_once(kit: Kit) -> None:
    proxy = kit.send("proxy")["proxy"]
    c = tenure.Client(proxy, ttl=5, attempt_timeout=1.0)
    before = admin(kit).status().next_token
    kit.send("cut-next-reply")
    lock = c.try_lock("py/retry")
    assert kit.send("cuts")["cuts"] == 1
    assert admin(kit).status().next_token == before + 1
    info = admin(kit).describe("py/retry")
    assert info is not None and [h.owner_id for h in info.holders] == [lock.owner_id]
    lock.release()
    c.close()


def scenario_bad_input(kit: Kit) -> None:
    c = client(kit)
    kept = c.try_lock("py/bad/kept")
    before = admin(kit).list_locks()
    for name in ["", "x" * 257, "a\x07b"]:
        with pytest.raises(tenure.InvalidArgument):
            c.try_lock(name)
    with pytest.raises(tenure.InvalidArgument):
        c.lock("py/bad", timeout=-1)
    with pytest.raises(tenure.InvalidArgument):
        tenure.Fence.parse("no-token")
    with pytest.raises(tenure.InvalidArgument):
        tenure.Fence("", 1)
    assert admin(kit).list_locks() == before
    kept.release()
    c.close()


def scenario_scope_exit_after_loss(kit: Kit) -> None:
    c = client(kit)
    boss = admin(kit)
    with pytest.raises(tenure.LockLost):
        with c.try_lock("py/scope") as lock:
            boss.force_release("py/scope", lock.owner_id, "scenario")
            lock.lost(timeout=10)

    async def main() -> None:
        ac = await tenure.AsyncClient.connect(kit.endpoints, ttl=5)

        async def work(lock: tenure.AsyncLock) -> None:
            boss.force_release("py/scope", lock.owner_id, "scenario")
            await asyncio.sleep(30)

        with pytest.raises(tenure.LockLost):
            await ac.with_lock("py/scope", work, timeout=5)

        async def seven(lock: tenure.AsyncLock) -> int:
            return 7

        assert await ac.with_lock("py/scope", seven, timeout=5) == 7
        async with ac.try_lock("py/scope"):
            pass
        await ac.close()

    asyncio.run(main())
    c.close()


def scenario_release_on_drop(kit: Kit) -> None:
    a, b = client(kit, ttl=30), client(kit)
    lock = a.try_lock("py/drop")
    del lock
    gc.collect()
    b.lock("py/drop", timeout=10).release()
    a.close()
    b.close()


def scenario_clean_exit_with_open_clients(kit: Kit) -> None:
    holder = script("exit", kit.endpoints, "py/exit")
    out, err = holder.communicate(timeout=20)
    assert holder.returncode == 0, err
    assert out.strip() == "acquired"
    # The exit hook closed the session: the lock is free at once, not after 30 s.
    client(kit).lock("py/exit", timeout=5).release()


def scenario_env_configuration(kit: Kit) -> None:
    env = {"TENURE_ENDPOINTS": kit.endpoints}
    ok = script("env", "-", "py/env", env=env)
    out, err = ok.communicate(timeout=20)
    assert ok.returncode == 0 and out.strip() == "acquired", err
    opted_out = script("env", "-", "py/env", "no-env", env=env)
    _, err = opted_out.communicate(timeout=20)
    assert opted_out.returncode != 0
    assert "InvalidArgument" in err, err
