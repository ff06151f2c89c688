"""The scheduler's wiring: APScheduler ticks, and only the holder of the Redis lock does the work."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bot.schedule import Scheduler
from bot.store import Store
from bot.store.delivery import DeliveryState

NOW = datetime(2024, 3, 25, 1, 0, tzinfo=UTC)


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
    state = DeliveryState(store.redis)
    first, second = CountingTicks(), CountingTicks()
    a = Scheduler(first, state, owner="a", clock=lambda: NOW, enqueue_every=0.05, fetch_every=0.05)
    b = Scheduler(second, state, owner="b", clock=lambda: NOW, enqueue_every=0.05, fetch_every=0.05)
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
