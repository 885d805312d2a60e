"""Atomic multi-lock (``acquire_all``) against a real cluster: the blocking
``Locks`` (a list and a context manager releasing every lock), shared mode,
values, a wait that times out holding nothing, LockLost on leaving a block;
asyncio ``await``/``async with``, and a cancelled call leaving nothing held."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest

import tenure
from conftest import wait_until


def names_of(name: str, n: int) -> List[str]:
    return [f"{name}/{i}" for i in range(n)]


def all_free(admin: tenure.Client, names: List[str]) -> bool:
    return all(admin.describe(n) is None for n in names)


def test_context_manager_releases_every_lock(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client()
    names = names_of(name, 3)
    with client.acquire_all(names, 5, value="job-7") as locks:
        assert isinstance(locks, tenure.Locks) and isinstance(locks, list)
        assert [lock.name for lock in locks] == names
        assert all(lock.is_held() for lock in locks)
        assert len({lock.owner_id for lock in locks}) == 3
        tokens = [lock.fencing_token for lock in locks]
        assert tokens == sorted(set(tokens))
        for lock in locks:
            info = admin.describe(lock.name)
            assert info is not None
            assert [(h.owner_id, h.token, h.value) for h in info.holders] == [
                (lock.owner_id, lock.fencing_token, "job-7")
            ]
    assert [lock.lost_reason() for lock in locks] == [tenure.LostReason.RELEASED] * 3
    assert all_free(admin, names)


def test_context_manager_releases_on_exception(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client()
    names = names_of(name, 2)
    with pytest.raises(KeyError):
        with client.acquire_all(names) as (first, second):
            assert (first.name, second.name) == tuple(names)
            raise KeyError("boom")
    assert all_free(admin, names)


def test_leaving_the_block_after_a_loss_releases_the_rest_and_raises(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client()
    names = names_of(name, 3)
    with pytest.raises(tenure.LockLost):
        with client.acquire_all(names) as locks:
            admin.force_release(names[1], locks[1].owner_id, "pytest")
            assert wait_until(lambda: not locks[1].is_held())
    assert locks[1].lost_reason() is tenure.LostReason.FORCE_RELEASED
    assert locks[0].lost_reason() is tenure.LostReason.RELEASED
    assert locks[2].lost_reason() is tenure.LostReason.RELEASED
    assert all_free(admin, names)


def test_plain_list_release_and_single_releases(new_client, admin, name):  # type: ignore[no-untyped-def]
    client = new_client()
    names = names_of(name, 2)
    locks = client.acquire_all(tuple(names))
    locks[0].release()
    assert admin.describe(names[0]) is None and admin.describe(names[1]) is not None
    locks.release()
    locks.release()  # idempotent
    assert all_free(admin, names)


def test_all_or_nothing_timeout_and_shared(new_client, admin, name):  # type: ignore[no-untyped-def]
    a, b = new_client(), new_client()
    names = names_of(name, 2)
    held = b.try_lock(names[1])
    with pytest.raises(tenure.Timeout):
        a.acquire_all(names, 0.3)
    assert admin.describe(names[0]) is None, "nothing held after the timeout"
    with pytest.raises(tenure.AlreadyHeld):
        b.acquire_all(names)
    assert admin.describe(names[0]) is None
    held.release()
    with a.acquire_all(names, shared=True) as first, b.acquire_all(names, shared=True) as second:
        assert [lock.mode for lock in first + second] == [tenure.LockMode.SHARED] * 4
        info = admin.describe(names[0])
        assert info is not None and len(info.holders) == 2
        with pytest.raises(tenure.LockHeld):
            new_client().try_lock(names[0])
    assert all_free(admin, names)


def test_bad_names(new_client, name):  # type: ignore[no-untyped-def]
    client = new_client()
    with pytest.raises(TypeError):
        client.acquire_all(name)
    for bad in ([], [name, name], names_of(name, tenure.MAX_ACQUIRE_ALL + 1)):
        with pytest.raises(tenure.InvalidArgument):
            client.acquire_all(bad)
    # Exactly the limit is fine.
    with client.acquire_all(names_of(name, tenure.MAX_ACQUIRE_ALL)) as locks:
        assert len(locks) == tenure.MAX_ACQUIRE_ALL
    sem = client.semaphore(f"{name}/sem", 2).try_acquire()
    with pytest.raises(tenure.InvalidArgument):
        new_client().acquire_all([f"{name}/free", f"{name}/sem"])
    sem.release()


def test_async_await_and_async_with(endpoints: str, name: str) -> None:
    names = names_of(name, 3)

    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as a, tenure.AsyncClient.connect(
            endpoints, ttl=3
        ) as b:
            locks = await a.acquire_all(names)
            assert isinstance(locks, tenure.AsyncLocks)
            assert [type(lock) for lock in locks] == [tenure.AsyncLock] * 3
            assert [lock.name for lock in locks] == names
            with pytest.raises(tenure.LockHeld):
                await b.acquire_all(list(reversed(names)))
            # b waits in both queues (holding neither) until a lets go of all.
            waiting = asyncio.ensure_future(b.acquire_all(names[1:], timeout=20))
            await asyncio.sleep(0.3)
            assert not waiting.done()
            assert (await a.describe(names[1])) is not None
            await locks.release()
            got = await asyncio.wait_for(waiting, 20)
            assert got[0].fencing_token > locks[1].fencing_token
            async with got:
                assert all(lock.is_held() for lock in got)
            assert all(lock.lost_reason() is tenure.LostReason.RELEASED for lock in got)

            async with a.acquire_all(names, 5, value="v") as held:
                assert [lock.name for lock in held] == names
                info = await b.describe(names[2])
                assert info is not None and info.holders[0].value == "v"
            assert all(not lock.is_held() for lock in held)
            for n in names:
                assert await b.describe(n) is None

    asyncio.run(main())


def test_async_cancelled_call_leaves_nothing_held(endpoints: str, name: str) -> None:
    names = names_of(name, 2)

    async def free(client: tenure.AsyncClient) -> bool:
        return all([await client.describe(n) is None for n in names])

    async def until_free(client: tenure.AsyncClient) -> None:
        for _ in range(200):
            if await free(client):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"still held: {[await client.describe(n) for n in names]}")

    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as a, tenure.AsyncClient.connect(
            endpoints, ttl=3
        ) as b:
            # Cancelled while it retries: nothing is held, now or later.
            held = await a.try_lock(names[1])
            task: "asyncio.Future[Any]" = asyncio.ensure_future(b.acquire_all(names, timeout=30))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await held.release()
            await asyncio.sleep(0.3)
            assert await free(a), "the cancelled call got the locks after all"
            # Cancelled at every point of a call that can succeed: whatever
            # it was granted is released in the background.
            for delay in (0.0, 0.001, 0.005, 0.02):
                task = asyncio.ensure_future(b.acquire_all(names))
                await asyncio.sleep(delay)
                task.cancel()
                try:
                    locks = await task
                except asyncio.CancelledError:
                    await until_free(a)
                else:
                    await locks.release()
                # b can take them all again at once.
                async with b.acquire_all(names, 5):
                    pass
            # asyncio.wait_for cuts a waiting call short the same way.
            held = await a.try_lock(names[0])
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(b.acquire_all(names, timeout=30), 0.3)
            await held.release()
            await asyncio.sleep(0.3)
            assert await free(a)

    asyncio.run(main())
