"""Benchmark 6, `/paper` while the day is matched: cached /paper latency during the engine's fetch tick.

The bot side runs in this process as in production: the real TelegramAdapter polling, the real DailyEngine
fetching a 2,000-paper day from a fake arXiv and matching it against 100k stored subscribers (3 filters
each). The users' side runs in a child process: a FakeTelegram that sends a cached `/paper` from a new
private chat every SPACING seconds, open loop (it does not wait for answers, so a stalled bot cannot hold
the load back), and times each reply from the moment the update was made available to the moment the
sendMessage arrived. Four phases: idle; the fetch tick with feeds and matching on the event loop (the
engine before this change); with them in a thread; and as shipped (above 10k subscribers, in a process of
its own). A first fetch caches the translations, so the measured ticks do the listing, the reading and
matching of the subscribers, and the cache look-ups.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from multiprocessing.connection import Connection
from xml.sax.saxutils import escape

import httpx

from bench.common import (
    Row,
    fake_service_settings,
    fmt_count,
    fmt_seconds,
    open_store,
    percentile,
    quiet_heap,
    redis_server,
)
from bench.paper_latency import TimingTelegram
from bench.storage import save_all
from bench.synthetic import forget, make_papers, subscribers
from bot.calendar import ArxivCalendar
from bot.config import Secret
from bot.delivery.engine import CHAT_PLATFORMS, DailyEngine
from bot.delivery.matching import DaySubscribers, papers_wanted
from bot.filters import Filter
from bot.matching_process import feeds_of
from bot.models import Paper
from bot.runtime import build_service
from bot.store import Store
from bot.store.keys import DAYS_KEY, day_listing_key, day_status_key
from handlers.commands import Commands
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.arxiv_server import RSS_TYPE, Canned, FakeArxiv
from tests.fakes.llm_server import FakeLLM
from tests.fakes.telegram_server import DEFAULT_TOKEN

NAME = "6 /paper during a match"
TARGET_P99 = 0.100
SPACING = 0.080  # 12.5 /paper a second: two calls each stay under the adapter's 30/s limit
DAY = date(2024, 2, 6)
NOW = datetime(2024, 2, 6, 1, 30, tzinfo=UTC)  # 20:30 EST: half an hour after the announcement
FIRST_CHAT = 800_000_000
IDLE_SECONDS = 3.0


def rss_feed(papers: Sequence[Paper], day: date) -> bytes:
    """A day's arXiv RSS feed carrying these papers, in arXiv's layout."""
    stamp = f"{day:%a, %d %b %Y} 00:00:00 -0500"
    items = []
    for p in papers:
        categories = "".join(f"<category>{escape(c)}</category>" for c in p.categories)
        items.append(
            f"<item><title>{escape(p.title)}</title><link>{p.url}</link>"
            f"<description>arXiv:{p.arxiv_id}v{p.version} Announce Type: {p.announce_type} \nAbstract: "
            f'{escape(p.abstract)}</description><guid isPermaLink="false">oai:arXiv.org:{p.arxiv_id}v{p.version}'
            f"</guid>{categories}<pubDate>{stamp}</pubDate><arxiv:announce_type>{p.announce_type}"
            f"</arxiv:announce_type><dc:creator>{escape(', '.join(p.authors))}</dc:creator></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0"><channel><title>arXiv</title>'
        f"<pubDate>{stamp}</pubDate>{''.join(items)}</channel></rss>"
    ).encode()


@dataclass(frozen=True)
class OnLoop:
    """The baseline: feeds and matching computed on the event loop, as the engine did before."""

    filters: list[Filter]

    async def feeds(self) -> tuple[str, ...]:
        """The feeds, on the event loop."""
        return feeds_of(self.filters)

    async def wanted(self, papers: Sequence[Paper]) -> list[Paper]:
        """The matches, on the event loop."""
        return papers_wanted(papers, self.filters)


@asynccontextmanager
async def _on_loop(store: Store) -> AsyncIterator[DaySubscribers]:
    """Every subscriber, matched on the event loop."""
    yield OnLoop(await store.audience_filters(CHAT_PLATFORMS))


class OnLoopEngine(DailyEngine):
    """The same fetch tick with the matching on the event loop."""

    def _day_subscribers(self) -> AbstractAsyncContextManager[DaySubscribers]:
        """The baseline's subscribers."""
        return _on_loop(self.store)


# ---------------------------------------------------------------------------- the users' side (child process)


def users_side(conn: Connection, paper_id: str) -> None:
    """Serve a FakeTelegram; on each `go`, send a /paper every SPACING s until `stop`, then report latencies."""
    asyncio.run(_users_side(conn, paper_id))


async def _users_side(conn: Connection, paper_id: str) -> None:
    """The child's event loop: the fake, the load, the timing."""
    async with TimingTelegram() as fake:
        conn.send(fake.base_url)
        chat = FIRST_CHAT
        while (command := await asyncio.to_thread(conn.recv)) == "go":
            asked: dict[int, float] = {}
            while not conn.poll():
                asked[chat] = time.perf_counter()
                fake.user_sends(chat, f"/paper {paper_id}")
                chat += 1
                await asyncio.sleep(SPACING)
            conn.recv()  # "stop"
            deadline = time.perf_counter() + 15
            while any(c not in fake.arrived for c in asked) and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            conn.send(
                [fake.arrived[c] - t for c, t in asked.items() if c in fake.arrived]
                + [None] * sum(1 for c in asked if c not in fake.arrived)
            )
        assert command == "exit"


# ---------------------------------------------------------------------------- the bot's side


async def _phase(
    conn: Connection, prepare: Callable[[], Awaitable[None]], work: Callable[[], Awaitable[float]]
) -> tuple[list[float], int, float]:
    """Prepare, then run `work` under the /paper load: reply latencies, unanswered requests, how long it took."""
    await prepare()
    quiet_heap()  # the collection it starts with is the harness's, not the bot's: before the load starts
    conn.send("go")
    seconds = await work()
    conn.send("stop")
    results: list[float | None] = await asyncio.to_thread(conn.recv)
    latencies = [r for r in results if r is not None]
    return latencies, len(results) - len(latencies), seconds


async def _forget_day(store: Store) -> None:
    """Drop the fetched day so the next fetch tick does the whole work again."""
    await store.redis_for_tests.delete(day_status_key(DAY.isoformat()), day_listing_key(DAY.isoformat()), DAYS_KEY)


async def _measure(size: int, paper_count: int) -> list[tuple[str, list[float], int, float]]:
    """Load the subscribers, then measure /paper in the three phases."""
    paper = make_papers(1, seed=5)[0]
    feed = rss_feed(make_papers(paper_count), DAY)
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=users_side, args=(theirs, paper.arxiv_id), daemon=True)
    child.start()
    base_url = await asyncio.to_thread(ours.recv)
    with redis_server() as server:
        async with (
            open_store(server) as store,
            FakeLLM() as llm,
            FakeArxiv() as arxiv,
            httpx.AsyncClient(trust_env=False, timeout=60) as http,
        ):
            arxiv.always_rss(Canned(200, feed, RSS_TYPE))
            settings = fake_service_settings(arxiv.rss_url, arxiv.api_url, llm.url)
            service = build_service(settings, store, http)
            await save_all(store, subscribers(size))
            forget()
            state = store.delivery
            shipped = DailyEngine(service, store, state, ArxivCalendar())
            in_thread = DailyEngine(service, store, state, ArxivCalendar(), process_above=size)
            on_loop = OnLoopEngine(service, store, state, ArxivCalendar())
            assert await shipped.fetch_tick(NOW) == DAY  # translates the day once: the measured ticks find it cached
            await store.put_papers([paper])
            await service.paper(paper.arxiv_id)
            adapter = TelegramAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), base_url)
            await adapter.start()

            async def idle() -> float:
                await asyncio.sleep(IDLE_SECONDS)
                return IDLE_SECONDS

            async def forget_day() -> None:
                await _forget_day(store)

            def fetch_with(engine: DailyEngine) -> Callable[[], Awaitable[float]]:
                async def fetch() -> float:
                    started = time.perf_counter()
                    assert await engine.fetch_tick(NOW) == DAY
                    return time.perf_counter() - started

                return fetch

            results = []
            try:
                await _phase(ours, forget_day, idle)  # warm-up
                phases = (
                    ("idle (no fetch tick)", idle),
                    ("matching on the event loop (before)", fetch_with(on_loop)),
                    ("matching in a thread", fetch_with(in_thread)),
                    ("matching in a process (shipped)", fetch_with(shipped)),
                )
                for label, work in phases:
                    results.append((label, *await _phase(ours, forget_day, work)))
            finally:
                await adapter.stop()
                ours.send("exit")
                await asyncio.to_thread(child.join, 10)
    return results


def run(quick: bool) -> list[Row]:
    """p50 and p99 of cached /paper replies while 100k subscribers (20k quick) are matched against 2,000 papers."""
    size, papers = (20_000 if quick else 100_000), 2_000
    rows = []
    for label, latencies, missing, seconds in asyncio.run(_measure(size, papers)):
        case = f"{fmt_count(size)} subs × {papers:,} papers: {label}"
        shipped = "shipped" in label
        p99 = percentile(latencies, 0.99) if latencies else float("inf")
        note = f"{len(latencies)} replies, {missing} unanswered; max {fmt_seconds(max(latencies, default=0))}"
        rows.append(
            Row(
                NAME,
                case,
                "p50",
                fmt_seconds(percentile(latencies, 0.50)) if latencies else "-",
                note=f"fetch tick {fmt_seconds(seconds)}" if "idle" not in label else "no load",
            )
        )
        rows.append(
            Row(
                NAME,
                case,
                "p99",
                fmt_seconds(p99),
                target=f"< {TARGET_P99 * 1e3:.0f} ms" if shipped else "",
                ok=(p99 < TARGET_P99 and not missing) if shipped else None,
                note=note,
            )
        )
    return rows
