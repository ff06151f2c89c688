"""The scheduler's wiring: APScheduler ticks, and only the holder of the Redis lock does the work."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bot.delivery import Scheduler
from bot.store import Store

NOW = datetime(2024, 3, 25, 1, 0, tzinfo=UTC)
FAST_LEASE, FAST_RENEW = 1.0, 0.05  # seconds: the lock lapses fast and is tried often


@dataclass
class CountingTicks:
    """Records the times each tick was called with."""

    enqueues: list[datetime] = field(default_factory=list)
    fetches: list[datetime] = field(default_factory=list)

    async def enqueue_tick(self, now: datetime) -> int:
        """Count an enqueue tick."""
        self.enqueues.append(now)
        return 0

    async def fetch_tick(self, now: datetime) -> date | None:
        """Count a fetch tick."""
        self.fetches.append(now)
        return None


async def test_only_the_lock_holder_ticks_and_the_lock_passes_on(store: Store) -> None:
    """Of two schedulers only one does the work; when it stops, the other takes over."""
    state = store.delivery
    first, second = CountingTicks(), CountingTicks()
    a = Scheduler(
        first,
        state,
        owner="a",
        clock=lambda: NOW,
        enqueue_every=0.05,
        fetch_every=0.05,
        lease=FAST_LEASE,
        renew_every=FAST_RENEW,
    )
    b = Scheduler(
        second,
        state,
        owner="b",
        clock=lambda: NOW,
        enqueue_every=0.05,
        fetch_every=0.05,
        lease=FAST_LEASE,
        renew_every=FAST_RENEW,
    )
    a.start()
    await asyncio.sleep(0.3)
    b.start()
    await asyncio.sleep(0.3)
    assert first.enqueues and first.fetches and first.enqueues[0] == NOW
    assert not second.enqueues and not second.fetches
    await a.stop()
    await asyncio.sleep(0.3)
    await b.stop()
    assert second.enqueues and second.fetches


@dataclass
class SlowTicks(CountingTicks):
    """A fetch tick that runs far longer than the lease (a day's translations)."""

    fetch_seconds: float = 0.0

    async def fetch_tick(self, now: datetime) -> date | None:
        """Take a long time."""
        self.fetches.append(now)
        await asyncio.sleep(self.fetch_seconds)
        return None


async def test_a_tick_longer_than_the_lease_keeps_the_lock(store: Store) -> None:
    """While one fetch tick runs for three lease lengths, no other process takes over the scheduling."""
    state = store.delivery
    slow, other = SlowTicks(fetch_seconds=1.5), CountingTicks()
    a = Scheduler(
        slow, state, owner="a", clock=lambda: NOW, enqueue_every=60, fetch_every=60, lease=0.5, renew_every=0.1
    )
    b = Scheduler(
        other, state, owner="b", clock=lambda: NOW, enqueue_every=0.05, fetch_every=0.05, lease=0.5, renew_every=0.1
    )
    a.start()
    await asyncio.sleep(0.2)
    b.start()
    try:
        await asyncio.sleep(1.5)
        assert slow.fetches, "the holder ticked"
        assert not other.enqueues and not other.fetches
        assert await state.scheduler_lock_holder() == "a"
    finally:
        await b.stop()
        await a.stop()


async def test_the_lock_is_released_only_by_its_holder(store: Store) -> None:
    """Release by a process that does not hold the lock leaves it in place; release by the holder frees it."""
    state = store.delivery
    assert await state.hold_scheduler_lock("a", 60_000)
    assert not await state.release_scheduler_lock("b")
    assert await state.scheduler_lock_holder() == "a"
    assert not await state.hold_scheduler_lock("b", 60_000)
    assert await state.release_scheduler_lock("a")
    assert await state.scheduler_lock_holder() is None
    assert await state.hold_scheduler_lock("b", 60_000)
