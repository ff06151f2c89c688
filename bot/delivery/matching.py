"""Reading every subscriber's filters and matching a day's papers against them, away from the event loop.

The fetch tick needs two things of the whole audience: the feeds to fetch, and which of the day's papers at
least one subscriber will receive (those are translated). Both depend only on the distinct filters, so the
audience is read as that set (bot/store/base.py `audience_filters`: one parse per distinct filter text, no
Subscriber built) and matched as one union of paper indices (`CompiledMatcher.matched_indices`), never as
per-chat lists.

Up to PROCESS_ABOVE subscribers this runs in a thread. Above, it runs in a process of its own, started for the
fetch and stopped after it, which reads the audience once and keeps it for the fetch's second question: at
100k subscribers this is seconds of CPU, and a thread holding the GIL that long makes the event loop wait for it
after every system call (benchmark `python -m bench --only paper_during_match`). What that process runs is in
bot/matching_process.py, which imports little, so the process starts fast and small.
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

from bot.filters import CompiledMatcher, Filter
from bot.matching_process import feeds_job, feeds_of, wanted_job
from bot.models import Paper
from bot.store import Store

PROCESS_ABOVE = 10_000  # subscribers; below this a thread costs the event loop little
NICENESS = 10  # the matching process yields the CPU to the bot's own when both want it


class DaySubscribers(Protocol):
    """Every subscriber of the running platforms, as the fetch tick needs them."""

    async def feeds(self) -> tuple[str, ...]:
        """The arXiv feeds their filters need."""

    async def wanted(self, papers: Sequence[Paper]) -> list[Paper]:
        """The papers at least one of them will receive."""


def wanted_indices(papers: Sequence[Paper], filters: Sequence[Filter]) -> list[int]:
    """The indices of the papers some filter matches, in listing order (pure and CPU-heavy)."""
    return CompiledMatcher.of_filters(filters).matched_indices(papers)


def papers_wanted(papers: Sequence[Paper], filters: Sequence[Filter]) -> list[Paper]:
    """Every paper some filter matches, in listing order."""
    return [papers[i] for i in wanted_indices(papers, filters)]


@dataclass(frozen=True)
class InThread:
    """The audience's filters read into this process; feeds and matching computed in a thread."""

    filters: list[Filter]

    async def feeds(self) -> tuple[str, ...]:
        """The feeds, computed in a thread."""
        return await asyncio.to_thread(feeds_of, self.filters)

    async def wanted(self, papers: Sequence[Paper]) -> list[Paper]:
        """The matches, computed in a thread."""
        return await asyncio.to_thread(papers_wanted, papers, self.filters)


@dataclass(frozen=True)
class InProcess:
    """The audience read and matched by a separate process, which connects to Redis itself and reads it once."""

    pool: ProcessPoolExecutor
    redis_url: str
    platforms: frozenset[str]

    async def feeds(self) -> tuple[str, ...]:
        """The feeds, computed by the other process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, feeds_job, self.redis_url, self.platforms)

    async def wanted(self, papers: Sequence[Paper]) -> list[Paper]:
        """The matches, computed by the other process (only their indices come back)."""
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(self.pool, wanted_job, self.redis_url, self.platforms, tuple(papers))
        return [papers[i] for i in found]


@asynccontextmanager
async def day_subscribers(
    store: Store, platforms: frozenset[str], process_above: int = PROCESS_ABOVE
) -> AsyncIterator[DaySubscribers]:
    """The subscribers of `platforms`, in a thread or (above `process_above`) in a process started for the while."""
    if store.url is None or await store.subscriber_count() <= process_above:
        yield InThread(await store.audience_filters(platforms))
        return
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=os.nice, initargs=(NICENESS,)
    )
    try:
        yield InProcess(pool, store.url, platforms)
    finally:
        await asyncio.to_thread(pool.shutdown)
