"""Benchmark 10, the daily job: what production does, from reading the subscribers to the last digest queued.

100k subscribers (3 filters each, stored as the bot stores them) × a 2,000-paper day: the real
DailyEngine.fetch_tick against a fake arXiv serving the day (the translations cached by a first fetch, so the
LLM's time is left out: benchmark 4 measures it), then the real enqueue_tick queueing every chat, all due in the
minute after. Above PROCESS_ABOVE subscribers the reading and matching run in a child process started for the
fetch: its CPU and peak RSS come from getrusage(RUSAGE_CHILDREN) once it has exited (the redis-server, also a
child, is still running then and does not count). At 1M subscribers the same child path (`day_subscribers`,
as the fetch tick uses it) answers the feeds and the papers wanted; the queueing of 1M chats is benchmark 9.
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx

from bench.audience import store_audience
from bench.common import Row, fake_service_settings, fmt_count, fmt_seconds, redis_server, timed
from bench.paper_during_match import rss_feed
from bench.storage import used_memory
from bench.synthetic import forget, iter_subscribers, make_papers
from bot.calendar import ArxivCalendar
from bot.delivery.engine import CHAT_PLATFORMS, DailyEngine
from bot.delivery.matching import day_subscribers
from bot.runtime import build_service
from bot.store import Store
from bot.store.keys import DAYS_KEY, day_listing_key, day_status_key
from tests.fakes.arxiv_server import RSS_TYPE, Canned, FakeArxiv
from tests.fakes.llm_server import FakeLLM

NAME = "10 daily job"
TARGET_SECONDS = 10.0
TARGET_RSS_MIB = 250.0
TARGET_SECONDS_1M = 60.0
PAPERS = 2_000
DAY = date(2024, 2, 6)
FETCHED = datetime(2024, 2, 6, 1, 30, tzinfo=UTC)  # 20:30 EST: half an hour after Monday's announcement
DUE = FETCHED + timedelta(minutes=1)  # every chat is due in the minute after the fetch


@dataclass(frozen=True)
class ChildCost:
    """CPU seconds used by the child processes that exited during a block, and the largest peak RSS of any."""

    cpu: float
    peak_rss_mib: float


class ChildWatch:
    """Reads what exited child processes cost (getrusage(RUSAGE_CHILDREN)), before and after a block."""

    def __init__(self) -> None:
        self._before = self._cpu()

    @staticmethod
    def _cpu() -> float:
        """The user and system CPU of every waited-for child so far."""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def cost(self) -> ChildCost:
        """What the children that exited since this watch began cost."""
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        return ChildCost(self._cpu() - self._before, peak)


async def _forget_day(store: Store) -> None:
    """Drop the fetched day so the next fetch tick does the whole work again."""
    await store.redis_for_tests.delete(day_status_key(DAY.isoformat()), day_listing_key(DAY.isoformat()), DAYS_KEY)


async def _whole_job(size: int) -> list[Row]:
    """The fetch tick and the enqueue tick at `size` subscribers, as production runs them."""
    feed = rss_feed(make_papers(PAPERS), DAY)
    with redis_server() as server:
        store = Store.from_url(server.url)
        try:
            async with FakeLLM() as llm, FakeArxiv() as arxiv, httpx.AsyncClient(trust_env=False, timeout=60) as http:
                arxiv.always_rss(Canned(200, feed, RSS_TYPE))
                service = build_service(fake_service_settings(arxiv.rss_url, arxiv.api_url, llm.url), store, http)
                await store_audience(store, iter_subscribers(size), due_epoch=DUE.timestamp())
                forget()
                engine = DailyEngine(service, store, store.delivery, ArxivCalendar())
                assert await engine.fetch_tick(FETCHED) == DAY  # translates the day: the measured tick finds it cached
                await _forget_day(store)
                children = ChildWatch()
                with timed() as fetch:
                    assert await engine.fetch_tick(FETCHED) == DAY
                child = children.cost()
                with timed() as enqueue:
                    queued = await engine.enqueue_tick(DUE)
                translated = llm.count
        finally:
            await store.close()
    wall = fetch.wall + enqueue.wall
    in_child = size > engine.process_above
    rss_note = f"peak RSS of the matching process {child.peak_rss_mib:,.0f} MiB" if in_child else "matched in a thread"
    return [
        Row(
            NAME,
            f"{fmt_count(size)} subs × {PAPERS:,} papers",
            "fetch tick + enqueue tick (wall)",
            fmt_seconds(wall),
            target=f"< {TARGET_SECONDS:g} s",
            ok=wall < TARGET_SECONDS,
            note=(
                f"fetch tick {fmt_seconds(fetch.wall)} (CPU: this process {fmt_seconds(fetch.cpu)}, matching process"
                f" {fmt_seconds(child.cpu)}); enqueue tick {fmt_seconds(enqueue.wall)} (CPU {fmt_seconds(enqueue.cpu)})"
                f" queued {queued:,}; {translated:,} papers wanted and translated (by the first fetch)"
            ),
        ),
        Row(
            NAME,
            f"{fmt_count(size)} subs × {PAPERS:,} papers",
            "peak RSS of the process reading and matching",
            f"{child.peak_rss_mib:,.0f} MiB" if in_child else "-",
            target=f"< {TARGET_RSS_MIB:g} MiB" if in_child else "",
            ok=child.peak_rss_mib < TARGET_RSS_MIB if in_child else None,
            note=rss_note + "; getrusage(RUSAGE_CHILDREN).ru_maxrss",
        ),
    ]


async def _matching_only(size: int) -> list[Row]:
    """At `size` subscribers: the production read-and-match path alone (feeds, then the papers wanted)."""
    papers = make_papers(PAPERS)
    with redis_server() as server:
        store = Store.from_url(server.url)
        try:
            before = await used_memory(store)
            await store_audience(store, iter_subscribers(size))
            forget()
            per_subscriber = (await used_memory(store) - before) / size
            children = ChildWatch()
            started = time.perf_counter()
            async with day_subscribers(store, CHAT_PLATFORMS) as audience:
                feeds = await audience.feeds()
                wanted = await audience.wanted(papers)
            wall = time.perf_counter() - started
            child = children.cost()
        finally:
            await store.close()
    case = f"{fmt_count(size)} subs × {PAPERS:,} papers"
    return [
        Row(
            NAME,
            case,
            "read + match in the matching process (wall)",
            fmt_seconds(wall),
            target=f"< {TARGET_SECONDS_1M:g} s",
            ok=wall < TARGET_SECONDS_1M,
            note=(
                f"CPU of the matching process {fmt_seconds(child.cpu)}; its peak RSS {child.peak_rss_mib:,.0f} MiB;"
                f" {len(feeds)} feeds; {len(wanted):,} papers wanted"
            ),
        ),
        Row(
            NAME,
            case,
            "Redis used_memory per subscriber",
            f"{per_subscriber:,.0f} B",
            target="< 1,024 B",
            ok=per_subscriber < 1024,
            note="the subscription hash and the subscribers set, as save_subscriber writes them",
        ),
    ]


def run(quick: bool) -> list[Row]:
    """The whole daily job at 100k (20k quick), and reading and matching at 1M (200k quick)."""
    rows = asyncio.run(_whole_job(20_000 if quick else 100_000))
    return rows + asyncio.run(_matching_only(200_000 if quick else 1_000_000))
