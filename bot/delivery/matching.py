"""Reading every subscriber and matching a day's papers against them, away from the event loop that answers users.

Up to PROCESS_ABOVE subscribers this runs in a thread. Above, it runs in a process of its own, started for the
fetch and stopped after it: at 100k subscribers reading and matching take tens of seconds of CPU, and a
thread holding the GIL that long makes the event loop wait for it after every system call, so a cached
/paper took seconds instead of milliseconds (benchmark 6, `python -m bench --only paper_during_match`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from bot.filters import CompiledMatcher
from bot.models import Paper
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import Subscriber

PROCESS_ABOVE = 10_000  # subscribers; below this a thread costs the event loop little
NICENESS = 10  # the matching process yields the CPU to the bot's own when both want it


class DaySubscribers(Protocol):
    """Every subscriber of the running platforms, as the fetch tick needs them."""

    async def feeds(self) -> tuple[str, ...]:
        """The arXiv feeds their filters need."""

    async def wanted(self, papers: Sequence[Paper]) -> list[Paper]:
        """The papers at least one of them will receive."""


def feed_categories_of(subscribers: Sequence[Subscriber]) -> tuple[str, ...]:
    """The categories to fetch: the union of every subscriber's filters (none without filters)."""
    filters = [f for sub in subscribers for f in sub.filters]
    return DigestService.feed_categories(filters) if filters else ()


def papers_wanted(papers: Sequence[Paper], subscribers: Sequence[Subscriber]) -> list[Paper]:
    """Every paper some subscriber's filters match, once each, in listing order (pure and CPU-heavy)."""
    matched = CompiledMatcher({sub.chat.key: sub.filters for sub in subscribers}).match(papers)
    ids = {p.versioned_id for found in matched.values() for p in found}
    return [p for p in papers if p.versioned_id in ids]


@dataclass(frozen=True)
class InThread:
    """Subscribers read into this process; feeds and matching computed in a thread."""

    subscribers: list[Subscriber]

    async def feeds(self) -> tuple[str, ...]:
        """The feeds, computed in a thread."""
        return await asyncio.to_thread(feed_categories_of, self.subscribers)

    async def wanted(self, papers: Sequence[Paper]) -> list[Paper]:
        """The matches, computed in a thread."""
        return await asyncio.to_thread(papers_wanted, papers, self.subscribers)


@dataclass(frozen=True)
class InProcess:
    """Subscribers read and matched by a separate process, which connects to Redis itself."""

    pool: ProcessPoolExecutor
    redis_url: str
    platforms: frozenset[str]

    async def feeds(self) -> tuple[str, ...]:
        """The feeds, computed by the other process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, _feeds_job, self.redis_url, self.platforms)

    async def wanted(self, papers: Sequence[Paper]) -> list[Paper]:
        """The matches, computed by the other process (only their ids come back)."""
        loop = asyncio.get_running_loop()
        ids = set(await loop.run_in_executor(self.pool, _wanted_job, self.redis_url, self.platforms, tuple(papers)))
        return [p for p in papers if p.versioned_id in ids]


@asynccontextmanager
async def day_subscribers(
    store: Store, platforms: frozenset[str], process_above: int = PROCESS_ABOVE
) -> AsyncIterator[DaySubscribers]:
    """The subscribers of `platforms`, in a thread or (above `process_above`) in a process started for the while."""
    if store.url is None or await store.subscriber_count() <= process_above:
        yield InThread(await _of_platforms(store, platforms))
        return
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=os.nice, initargs=(NICENESS,)
    )
    try:
        yield InProcess(pool, store.url, platforms)
    finally:
        await asyncio.to_thread(pool.shutdown)


async def _of_platforms(store: Store, platforms: frozenset[str]) -> list[Subscriber]:
    """Every readable subscription of these platforms."""
    return [s for s in await store.all_subscribers() if s.chat.platform in platforms]


async def _read(redis_url: str, platforms: frozenset[str]) -> list[Subscriber]:
    """In the other process: read the subscribers over a connection of its own."""
    store = Store.from_url(redis_url)
    try:
        return await _of_platforms(store, platforms)
    finally:
        await store.close()


def _feeds_job(redis_url: str, platforms: frozenset[str]) -> tuple[str, ...]:
    """In the other process: the feeds every subscriber's filters need."""
    return feed_categories_of(asyncio.run(_read(redis_url, platforms)))


def _wanted_job(redis_url: str, platforms: frozenset[str], papers: tuple[Paper, ...]) -> list[str]:
    """In the other process: the versioned ids of the papers some subscriber will receive."""
    return [p.versioned_id for p in papers_wanted(papers, asyncio.run(_read(redis_url, platforms)))]
