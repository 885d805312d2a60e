"""Client metrics: counters per lock-name prefix (`metrics()`) and the
Prometheus text (`metrics_text()`), on Client and AsyncClient; the Python form
of tests/tests/client.rs `client_metrics_count_acquires_releases_and_losses_per_prefix`."""

from __future__ import annotations

import asyncio
import uuid
from typing import List, Tuple

import pytest

import tenure
from conftest import wait_until


def of(metrics: List[tenure.PrefixMetrics], prefix: str) -> tenure.PrefixMetrics:
    found = [m for m in metrics if m.prefix == prefix]
    assert len(found) == 1, f"{prefix!r} not counted once in {metrics}"
    return found[0]


def counts(m: tenure.PrefixMetrics) -> Tuple[int, int, int, int]:
    return (m.acquired, m.acquire_failed, m.released, m.lost)


def loss_counted(client: tenure.Client) -> bool:
    # The core wakes lost() before it counts the loss (LockInner::mark_lost):
    # the count follows within moments, on the client's background task.
    return of(client.metrics(), "metrics/").lost == 1


# The lines of the second client's text after the scenario below.
EXPECTED_LINES = [
    'tenure_client_acquires_total{prefix="metrics/",result="ok"} 1',
    'tenure_client_acquires_total{prefix="metrics/",result="LOCK_HELD"} 1',
    'tenure_client_locks_lost_total{prefix="metrics/",reason="force_released"} 1',
    'tenure_client_hold_seconds_count{prefix="metrics/"} 1',
    'tenure_client_acquire_wait_seconds_count{prefix="metrics/"} 1',
]


def test_metrics_count_acquires_releases_and_losses_per_prefix(new_client) -> None:  # type: ignore[no-untyped-def]
    name = f"metrics/{uuid.uuid4().hex[:8]}"
    a, b = new_client(ttl=3), new_client(ttl=3)
    assert a.metrics() == [] and "tenure_client_" in a.metrics_text()

    first = a.try_lock(name)
    with pytest.raises(tenure.LockHeld):
        b.try_lock(name)
    first.release()
    second = b.try_lock(name)
    a.force_release(name, second.owner_id, "pytest: metrics")
    assert second.lost(timeout=10) is tenure.LostReason.FORCE_RELEASED
    assert wait_until(lambda: loss_counted(b), timeout=5)

    ma, mb = of(a.metrics(), "metrics/"), of(b.metrics(), "metrics/")
    assert isinstance(ma, tenure.PrefixMetrics)
    assert counts(ma) == (1, 0, 1, 0)
    assert counts(mb) == (1, 1, 0, 1)
    assert ma.acquire_wait_ms_total >= 0 and ma.hold_ms_total >= 0
    assert repr(ma).startswith("PrefixMetrics(prefix='metrics/', acquired=1, ")
    text = b.metrics_text()
    for line in EXPECTED_LINES:
        assert line in text.splitlines(), f"missing {line} in\n{text}"
    assert 'result="LOCK_HELD"' not in a.metrics_text()

    # A name without a slash counts under "".
    solo = a.try_lock(f"metrics-{uuid.uuid4().hex[:8]}")
    solo.release()
    assert counts(of(a.metrics(), "")) == (1, 0, 1, 0)
    assert counts(of(a.metrics(), "metrics/")) == (1, 0, 1, 0)


def test_async_client_metrics_are_plain_calls(endpoints: str) -> None:
    name = f"metrics/{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with tenure.AsyncClient.connect(endpoints, ttl=3) as a:
            async with tenure.AsyncClient.connect(endpoints, ttl=3) as b:
                first = await a.try_lock(name)
                with pytest.raises(tenure.LockHeld):
                    await b.try_lock(name)
                await first.release()
                second = await b.try_lock(name)
                await a.force_release(name, second.owner_id, "pytest: metrics")
                assert await asyncio.wait_for(second.lost(), 10) is tenure.LostReason.FORCE_RELEASED
                for _ in range(100):  # see loss_counted
                    if of(b.metrics(), "metrics/").lost == 1:
                        break
                    await asyncio.sleep(0.05)

                # No await: plain values, not coroutines.
                ma, mb = of(a.metrics(), "metrics/"), of(b.metrics(), "metrics/")
                assert counts(ma) == (1, 0, 1, 0)
                assert counts(mb) == (1, 1, 0, 1)
                text = b.metrics_text()
                assert isinstance(text, str)
                for line in EXPECTED_LINES:
                    assert line in text.splitlines(), f"missing {line} in\n{text}"

    asyncio.run(main())
