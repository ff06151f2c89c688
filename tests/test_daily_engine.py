"""The daily engine at its edges: ticks that overlap the fetch, platforms not running, unreadable subscriptions.

Time is a parameter, as in test_delivery.py; where the fetch and enqueue ticks overlap (APScheduler runs them
concurrently) the test decides exactly where one tick's Redis commands fall between the other's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import redis.asyncio as redis

from bot.calendar import ArxivCalendar
from bot.delivery import DailyEngine
from bot.redis_server import RedisServer
from bot.service import DigestService
from bot.store import Store
from bot.store.delivery import DeliveryState
from bot.store.keys import SUBSCRIBERS_KEY, subscriber_key
from bot.subscribers import ChatRef
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import FakeLLM
from tests.test_delivery import FEED, Bot, feed_for, fixture_bot, make_bot  # noqa: F401  (the `bot` fixture)

CHAT = ChatRef("telegram", "1")
OTHER = ChatRef("telegram", "2")
MONDAY, TUESDAY = date(2024, 1, 8), date(2024, 1, 9)
# In winter arXiv's 20:00 EST is 01:00 UTC, which is 09:00 in Shanghai: the default delivery time.
ANNOUNCED = datetime(2024, 1, 9, 1, 0, tzinfo=UTC)
FETCHED = ANNOUNCED + timedelta(minutes=30)


class SteppedRedis(redis.Redis):
    """A Redis client that runs `before(n)` ahead of its n-th command (0-based), to place another tick there."""

    before: Callable[[int], Awaitable[None]] | None = None
    commands = 0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        """Run the hook, then the command."""
        if self.before is not None:
            await self.before(self.commands)
        self.commands += 1
        return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


async def _received_monday(bot: Bot) -> None:
    """CHAT (09:30 Shanghai) received Monday's digest the day before."""
    await bot.subscribe(CHAT, time(9, 30), "Asia/Shanghai")
    await bot.engine.enqueue_tick(FETCHED - timedelta(days=1, hours=2))  # schedules it
    await bot.at(FETCHED - timedelta(days=1), feed_day=MONDAY)
    assert bot.sender.days_of(CHAT) == [MONDAY.isoformat()]
    bot.arxiv.rss_feeds[FEED] = feed_for(TUESDAY)


@pytest.mark.parametrize("fetch_before_command", range(10))
async def test_a_chat_due_in_the_same_tick_as_the_fetch_gets_the_day(
    service: DigestService, store: Store, arxiv: FakeArxiv, redis_server: RedisServer, fetch_before_command: int
) -> None:
    """Wherever the fetch completes among the enqueue tick's Redis commands, the due chat gets that day's digest."""
    fetching = make_bot(service, store, arxiv, ArxivCalendar())
    await _received_monday(fetching)
    stepped = SteppedRedis(connection_pool=redis.ConnectionPool.from_url(redis_server.url, decode_responses=True))
    due_side = DailyEngine(service, Store(stepped), DeliveryState(stepped), ArxivCalendar())

    async def fetch_there(n: int) -> None:
        if n == fetch_before_command:
            assert await fetching.engine.fetch_tick(FETCHED) == TUESDAY

    stepped.before = fetch_there
    try:
        await due_side.enqueue_tick(FETCHED)
        if stepped.commands <= fetch_before_command:
            await fetching.engine.fetch_tick(FETCHED)  # the enqueue tick was over before this point
        stepped.before = None
        await fetching.at(FETCHED + timedelta(seconds=30))  # the next tick
        assert fetching.sender.days_of(CHAT) == [MONDAY.isoformat(), TUESDAY.isoformat()]
    finally:
        await stepped.aclose()


async def test_chats_due_during_a_slow_translation_get_the_day_when_it_is_ready(bot: Bot, fake_llm: FakeLLM) -> None:
    """Chats due at the announcement and while the day's translations run get that day's digest right after."""
    await bot.subscribe(CHAT, time(9), "Asia/Shanghai")  # 01:00 UTC: the announcement itself
    await bot.subscribe(OTHER, time(9, 31), "Asia/Shanghai")  # 01:31 UTC: while the LLM is still busy
    await bot.engine.enqueue_tick(FETCHED - timedelta(days=1, hours=2))  # schedules them
    await bot.at(FETCHED - timedelta(days=1), feed_day=MONDAY)
    await bot.at(ANNOUNCED, feed_day=TUESDAY)  # due, but the fetch waits for the feed to settle
    assert bot.sender.days_of(CHAT) == [MONDAY.isoformat()]
    fake_llm.delay = 1.0
    fetch = asyncio.create_task(bot.engine.fetch_tick(FETCHED))
    while not fake_llm.in_flight:  # the day's translations are under way, and slow
        await asyncio.sleep(0.01)
    assert await bot.engine.enqueue_tick(FETCHED + timedelta(minutes=1)) == 0
    assert not fetch.done()
    assert await fetch == TUESDAY
    while await bot.worker.work_once():
        pass
    for chat in (CHAT, OTHER):
        assert bot.sender.days_of(chat)[-1] == TUESDAY.isoformat(), chat


async def test_only_chats_of_running_platforms_are_scheduled(
    service: DigestService, store: Store, arxiv: FakeArxiv
) -> None:
    """With only Telegram running, a console chat and a Discord chat are never queued, nor fetched for."""
    bot = make_bot(service, store, arxiv, ArxivCalendar())
    bot.engine = DailyEngine(service, store, bot.state, ArxivCalendar(), platforms=frozenset({"telegram"}))
    console, discord = ChatRef("console", "local"), ChatRef("discord", "55")
    await bot.subscribe(console, time(9), "Asia/Shanghai")
    await bot.subscribe(discord, time(9), "Asia/Shanghai")
    await bot.at(FETCHED - timedelta(hours=2))  # schedules them
    await bot.at(FETCHED, feed_day=TUESDAY)
    assert arxiv.count("rss") == 0, "nobody on a running platform wants anything"
    await bot.subscribe(CHAT, time(9), "Asia/Shanghai")
    await bot.at(FETCHED + timedelta(minutes=1))
    await bot.at(FETCHED + timedelta(days=1, hours=1), feed_day=date(2024, 1, 10))
    assert [c for c, _, _ in bot.sender.sent] == [CHAT]
    assert await bot.state.dead_letters() == [] and await bot.state.queue_depth() == 0
    assert await bot.state.waiting_chats() == []


async def test_an_unreadable_subscription_is_skipped_and_everyone_else_delivered(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A corrupt subscriber hash is logged once and set aside; the other chats get their digest."""
    broken = ChatRef("telegram", "9")
    await bot.store.redis_for_tests.hset(subscriber_key(broken), mapping={"filters": "[not json", "time": "09:00"})
    await bot.store.redis_for_tests.sadd(SUBSCRIBERS_KEY, broken.key)
    await bot.state.set_due(broken, ANNOUNCED.timestamp())
    for chat in (CHAT, OTHER):
        await bot.subscribe(chat, time(9, 30), "Asia/Shanghai")
    await bot.engine.enqueue_tick(FETCHED - timedelta(hours=2))  # schedules them
    with caplog.at_level(logging.ERROR):
        await bot.at(FETCHED, feed_day=TUESDAY)
        await bot.at(FETCHED + timedelta(minutes=1))
    assert sorted(c.chat_id for c, _, _ in bot.sender.sent) == ["1", "2"]
    assert [r.getMessage() for r in caplog.records if broken.key in r.getMessage()] == [
        r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()
    ]
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 1
    assert list(await bot.store.broken_subscribers()) == [broken.key]


async def test_a_large_audience_is_matched_in_another_process(
    service: DigestService, store: Store, arxiv: FakeArxiv, fake_llm: FakeLLM
) -> None:
    """Above the process threshold the day is matched by a separate process, with the same digests as result."""
    bot = make_bot(service, store, arxiv, ArxivCalendar())
    bot.engine = DailyEngine(service, store, bot.state, ArxivCalendar(), process_above=1)
    await bot.subscribe(CHAT, time(9, 30), "Asia/Shanghai")
    await bot.subscribe(OTHER, time(9, 30), "Asia/Shanghai", text="cs.LG -saliency")
    await bot.subscribe(ChatRef("console", "local"), time(9, 30), "Asia/Shanghai", text="math.AG")
    await bot.engine.enqueue_tick(FETCHED - timedelta(hours=2))
    await bot.at(FETCHED, feed_day=TUESDAY)
    assert arxiv.requests[-1].path.endswith("/cs.LG+stat.ML"), "the console chat's topic is not fetched"
    digests = {chat: digest for chat, digest, _ in bot.sender.sent}
    assert len(digests[CHAT].items) == fake_llm.count == 3
    assert 0 < len(digests[OTHER].items) < 3
    assert all(item.translation is not None for digest in digests.values() for item in digest.items)
