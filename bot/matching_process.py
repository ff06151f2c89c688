"""What the fetch's matching process runs: read the audience once, then answer the feeds and the papers wanted.

It lives outside `bot.delivery` and imports only the store, the filters and the models, so the process starts
without the delivery engine, the service, the translator or numpy (benchmark `daily_job`: its start-up and peak
RSS). The process is started for one fetch and stopped after it (bot/delivery/matching.py), so what it read and
compiled serves that fetch only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from bot.filters import CompiledMatcher, Filter
from bot.filters.feeds import feeds_for
from bot.models import Paper
from bot.store import Store

Audience = tuple[str, frozenset[str]]  # (Redis URL, platforms)

_read_once: dict[Audience, list[Filter]] = {}
_compiling: dict[Audience, Future[CompiledMatcher]] = {}
_compiler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compile-matcher")  # no thread until first used


def feeds_of(filters: Sequence[Filter]) -> tuple[str, ...]:
    """The categories to fetch: the union of the filters' categories (none without filters)."""
    return feeds_for(filters) if filters else ()


def feeds_job(redis_url: str, platforms: frozenset[str]) -> tuple[str, ...]:
    """The feeds every subscriber's filters need.

    The matcher starts compiling as the feeds go back, so that it is ready (or nearly) when the papers come, the
    bot fetching the day's listing meanwhile.
    """
    feeds = feeds_of(_audience((redis_url, platforms)))
    _compile_started((redis_url, platforms))
    return feeds


def wanted_job(redis_url: str, platforms: frozenset[str], papers: tuple[Paper, ...]) -> list[int]:
    """The indices of the papers some subscriber will receive."""
    audience = (redis_url, platforms)
    _compile_started(audience)
    return _compiling[audience].result().matched_indices(papers)


def _audience(audience: Audience) -> list[Filter]:
    """The audience's distinct filters, read over a connection of this process's own the first time."""
    if audience not in _read_once:
        _read_once[audience] = asyncio.run(_read(*audience))
    return _read_once[audience]


def _compile_started(audience: Audience) -> None:
    """Start compiling the audience's matcher in a thread, unless it already is."""
    if audience not in _compiling:
        _compiling[audience] = _compiler.submit(CompiledMatcher.of_filters, _audience(audience))


async def _read(redis_url: str, platforms: frozenset[str]) -> list[Filter]:
    """Read the audience's filters."""
    store = Store.from_url(redis_url)
    try:
        return await store.audience_filters(platforms)
    finally:
        await store.close()
