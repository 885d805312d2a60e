"""asyncio API against a real cluster: acquire/release, contention, timeouts,
cancellation of a waiting acquire, lost(), run(), the loop never blocked;
watches, elections and observers (`async for`, close() ending the iteration)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, List

import pytest

import tenure


def run(coro_fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    return asyncio.run(coro_fn(*args))  # type: ignore[arg-type]


async def until(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def test_async_acquire_and_release(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as client:
            assert client.session_state is tenure.SessionState.HEALTHY
            lock = await client.try_lock(name)
            assert isinstance(lock, tenure.AsyncLock)
            assert lock.is_held()
            assert lock.session_id == await client.session_id()
            info = await client.describe(name)
            assert info is not None and info.holders[0].token == lock.fencing_token
            await lock.release()
            assert lock.lost_reason() is tenure.LostReason.RELEASED
            assert await lock.lost() is tenure.LostReason.RELEASED
            assert await client.describe(name) is None

            async with client.lock(name, timeout=5) as held:
                assert held.is_held()
                assert (await client.list_locks(name))[0].name == name
            assert held.lost_reason() is tenure.LostReason.RELEASED
        assert client.session_state is tenure.SessionState.EXPIRED

    run(main)


def test_async_contention_and_timeout(endpoints: str, name: str) -> None:
    async def main() -> None:
        a = await tenure.AsyncClient.connect(endpoints, ttl=3)
        b = await tenure.AsyncClient.connect(endpoints, ttl=3)
        try:
            first = await a.lock(name, timeout=5)
            with pytest.raises(tenure.LockHeld):
                await b.try_lock(name)
            with pytest.raises(tenure.Timeout):
                await b.lock(name, timeout=0.3)
            waiting = asyncio.ensure_future(b.lock(name, timeout=20))
            assert await until(lambda: _waiters(a, name, 1))
            assert not waiting.done()
            await first.release()
            second = await asyncio.wait_for(waiting, 20)
            assert second.fencing_token > first.fencing_token
            await second.release()
        finally:
            await a.close()
            await b.close()

    run(main)


async def _waiters(client: tenure.AsyncClient, name: str, n: int) -> bool:
    info = await client.describe(name)
    return info is not None and len(info.waiters) == n


def test_cancelling_a_waiting_acquire_withdraws_it(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as a, tenure.AsyncClient.connect(
            endpoints, ttl=3
        ) as b:
            held = await a.lock(name, timeout=5)
            task = asyncio.ensure_future(b.lock(name, timeout=30))
            assert await until(lambda: _waiters(a, name, 1)), "never queued"
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The server's queue is empty again, while b's session lives on.
            assert await until(lambda: _waiters(a, name, 0)), "the waiter stayed queued"
            sessions = [s.session_id for s in await a.list_sessions()]
            assert await b.session_id() in sessions
            # And when a releases, nobody is granted the lock.
            await held.release()
            assert await a.describe(name) is None

    run(main)


def test_wait_for_timeout_cancels_the_acquire(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as a, tenure.AsyncClient.connect(
            endpoints, ttl=3
        ) as b:
            held = await a.lock(name, timeout=5)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(b.lock(name, timeout=30), 0.5)
            assert await until(lambda: _waiters(a, name, 0))
            await held.release()

    run(main)


def test_the_event_loop_keeps_running_while_waiting(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as a, tenure.AsyncClient.connect(
            endpoints, ttl=3
        ) as b:
            held = await a.lock(name, timeout=5)
            ticks: List[float] = []

            async def ticker() -> None:
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0.01)

            t = asyncio.ensure_future(ticker())
            waiting = asyncio.ensure_future(b.lock(name, timeout=20))
            assert await until(lambda: _waiters(a, name, 1))
            before = len(ticks)
            # While b's acquire is pending, the loop serves the ticker.
            assert await until(_true_after_ticks(ticks, before + 5))
            assert not waiting.done()
            await held.release()
            (await waiting)
            t.cancel()

    run(main)


def _true_after_ticks(ticks: List[float], n: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(ticks) >= n

    return check


def test_async_lost_after_force_release_and_run_cancels_work(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as client, tenure.AsyncClient.connect(
            endpoints, lazy=True
        ) as admin:
            lock = await client.lock(name, timeout=5)
            cancelled = asyncio.Event()

            async def work() -> str:
                try:
                    await asyncio.sleep(60)
                    return "finished"
                except asyncio.CancelledError:
                    cancelled.set()
                    raise

            async def cut_off() -> None:
                await asyncio.sleep(0.2)
                await admin.force_release(name, lock.owner_id, "pytest")

            cutter = asyncio.ensure_future(cut_off())
            with pytest.raises(tenure.LockLost):
                await lock.run(work())
            await cutter
            assert cancelled.is_set()
            assert await lock.lost() is tenure.LostReason.FORCE_RELEASED
            assert not lock.is_held()
            # run() returns the result when the work finishes first.
            async with client.lock(name, timeout=5) as again:
                assert await again.run(asyncio.sleep(0, "done")) == "done"

    run(main)


def test_async_blacklist_is_seen_by_the_holder(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as client, tenure.AsyncClient.connect(
            endpoints, lazy=True
        ) as admin:
            lock = await client.lock(name, timeout=5)
            await admin.blacklist(lock.session_id, "pytest")
            reason = await asyncio.wait_for(lock.lost(), 10)
            assert reason is tenure.LostReason.SESSION_BLACKLISTED
            assert client.session_state is tenure.SessionState.EXPIRED
            with pytest.raises(tenure.LockLost):
                async with lock:
                    pass

    run(main)


def test_async_admin_calls(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, lazy=True) as admin:
            status = await admin.status()
            assert status.leader_id is not None
            assert isinstance(await admin.audit(5), list)
            assert isinstance(await admin.list_sessions(), list)
            assert await admin.session_id() is None
            with pytest.raises(tenure.NotHolder):
                await admin.force_release(name, "0" * 32, "nobody holds it")

    run(main)


def test_async_release_request(endpoints: str, name: str) -> None:
    async def main() -> None:
        connect = tenure.AsyncClient.connect
        async with connect(endpoints, ttl=3) as holder, connect(endpoints, ttl=3) as other:
            lock = await holder.try_lock(name)
            called = asyncio.Event()
            loop = asyncio.get_running_loop()
            lock.on_revoke_requested(lambda: loop.call_soon_threadsafe(called.set))
            waiting = asyncio.ensure_future(lock.wait_revoke_requested())
            await asyncio.sleep(0.1)
            assert not waiting.done() and not lock.revoke_requested
            assert await other.request_release(name, f"{7:032x}") == []
            asked = await other.request_release(name, lock.owner_id, "pytest")
            assert [g.token for g in asked] == [lock.fencing_token]
            assert await asyncio.wait_for(waiting, 10) is True
            await asyncio.wait_for(called.wait(), 5)
            assert lock.revoke_requested and lock.is_held()
            info = await other.describe(name)
            assert info is not None and info.holders[0].release_requested
            await lock.release()

            # A lock released unasked ends the wait with False.
            again = await holder.try_lock(name)
            waiting = asyncio.ensure_future(again.wait_revoke_requested())
            await again.release()
            assert await asyncio.wait_for(waiting, 10) is False

    run(main)


def test_async_watch(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as client:
            async with client.watch(f"{name}/") as watcher:
                assert isinstance(watcher, tenure.AsyncWatcher)
                first = await watcher.next()
                assert first.reset and first.locks == []
                lock = await client.try_lock(f"{name}/a", value="v1")
                await lock.set_value("v2")
                seen: List[tenure.WatchEvent] = []
                async for batch in watcher:
                    seen.extend(batch.events)
                    if len(seen) >= 2:
                        break
                assert [(e.change, e.value) for e in seen] == [
                    (tenure.LockChange.GRANTED, "v1"),
                    (tenure.LockChange.VALUE_CHANGED, "v2"),
                ]
                assert watcher.revision == seen[-1].revision
                # A wait cut short by asyncio loses nothing.
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(watcher.next(), 0.3)
                await lock.release()
                batch = await asyncio.wait_for(watcher.next(), 10)
                assert [e.change for e in batch.events] == ["released"]
            assert watcher.closed
            with pytest.raises(tenure.Cancelled):
                await watcher.next()
            with pytest.raises(tenure.LockLost):
                await lock.set_value("v3")

    run(main)


def test_async_close_ends_a_waiting_iteration(endpoints: str, name: str) -> None:
    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as client:
            watcher = client.watch(name)
            batches: List[tenure.WatchBatch] = []

            async def iterate() -> None:
                async for batch in watcher:
                    batches.append(batch)

            task = asyncio.ensure_future(iterate())
            assert await until(lambda: asyncio.sleep(0, len(batches) == 1))
            await asyncio.sleep(0.2)
            assert not task.done()
            watcher.close()
            await asyncio.wait_for(task, 10)  # ended cleanly, no exception
            assert len(batches) == 1

    run(main)


def test_async_election_and_observe(endpoints: str, name: str) -> None:
    async def main() -> None:
        connect = tenure.AsyncClient.connect
        async with connect(endpoints, ttl=3) as a, connect(endpoints, ttl=3) as b:
            observer = b.election(name).observe()
            assert isinstance(observer, tenure.AsyncObserver)
            assert await asyncio.wait_for(observer.next(), 10) is None
            election = a.election(name)
            assert isinstance(election, tenure.AsyncElection)
            async with election.try_campaign("a1") as leading:
                assert isinstance(leading, tenure.AsyncLock)
                leader = await asyncio.wait_for(observer.next(), 10)
                assert leader is not None
                assert (leader.value, leader.token) == ("a1", leading.fencing_token)
                assert await b.election(name).leader() == leader
                # b campaigns and waits; cancelling withdraws the campaign.
                waiting = asyncio.ensure_future(b.election(name).campaign("b1", timeout=20))
                assert await until(lambda: _waiters(a, name, 1))
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
                assert await until(lambda: _waiters(a, name, 0))
                await leading.set_value("a2")
                now = await asyncio.wait_for(observer.next(), 10)
                assert now is not None and now.value == "a2"
            # Leaving the block resigned: the observer sees nobody lead.
            assert await asyncio.wait_for(observer.next(), 10) is None
            assert await election.leader() is None
            second = await b.election(name).campaign("b2", timeout=5)
            leaders: List[tenure.Leader] = []
            async with observer:
                async for seen in observer:
                    assert seen is not None
                    leaders.append(seen)
                    observer.close()
            assert [(l.value, l.token) for l in leaders] == [("b2", second.fencing_token)]
            await second.release()

    run(main)


async def _waiters(client: tenure.AsyncClient, name: str, n: int) -> bool:
    info = await client.describe(name)
    return (0 if info is None else len(info.waiters)) == n
