"""The daily job at scale: every chat due in one minute queued in one tick, the audience read once per fetch.

Time is a parameter, as in test_delivery.py; Redis round trips are counted on the wire (a connection that counts
what it sends), commands with the server's own INFO commandstats.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import time, timedelta
from typing import Any

import pytest
import redis.asyncio as redis

from bot.calendar import ArxivCalendar
from bot.delivery import DailyEngine, Scheduler
from bot.filters import parse_filter
from bot.redis_server import RedisServer
from bot.service import DigestService
from bot.store import Store
from bot.store.keys import SUBSCRIBERS_KEY, subscriber_key
from bot.subscribers import ChatRef, Lang, Subscriber
from tests.fakes.arxiv_server import FakeArxiv
from tests.test_daily_engine import FETCHED, TUESDAY
from tests.test_delivery import FEED, Bot, feed_for, fixture_bot, make_bot  # noqa: F401  (the `bot` fixture)
from tests.test_schedule import CountingTicks

CHATS = 2_500  # more than one batch of the enqueue tick, and more than the 1,000 a tick took before


class CountingConnection(redis.Connection):
    """A connection that counts its round trips: each write of one command or of a whole pipeline."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        """Count, then send."""
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


async def _subscribe_many(store: Store, count: int) -> list[ChatRef]:
    """`count` Telegram chats, all due at 09:30 Shanghai, stored in one pipeline as save_subscriber stores them."""
    chats = [ChatRef("telegram", str(1000 + i)) for i in range(count)]
    filters = (parse_filter("cs.LG stat.ML"),)
    for chat in chats:
        await store.save_subscriber(Subscriber(chat, filters, time(9, 30), "Asia/Shanghai", Lang.BOTH))
    return chats


async def test_a_whole_minute_of_due_chats_is_queued_in_one_tick_with_few_round_trips(
    bot: Bot, redis_server: RedisServer
) -> None:
    """2,500 chats due in the same minute are all queued by the tick of that minute, in a few dozen round trips."""
    await _subscribe_many(bot.store, CHATS)
    await bot.engine.enqueue_tick(FETCHED - timedelta(hours=2))  # schedules them
    await bot.engine.fetch_tick(FETCHED)  # Tuesday's listing is ready
    pool = redis.ConnectionPool.from_url(redis_server.url, decode_responses=True, connection_class=CountingConnection)
    counted = redis.Redis(connection_pool=pool)
    engine = DailyEngine(bot.engine.service, Store(counted), Store(counted).delivery, ArxivCalendar())
    try:
        CountingConnection.sent = 0
        queued = await engine.enqueue_tick(FETCHED + timedelta(minutes=1))
        round_trips = CountingConnection.sent
    finally:
        await counted.aclose()
    assert queued == CHATS and await bot.state.queue_depth() == CHATS
    assert round_trips <= 40, f"{round_trips} round trips for {CHATS} chats"
    assert await bot.engine.enqueue_tick(FETCHED + timedelta(minutes=2)) == 0, "each chat once a day"


async def test_a_stored_timezone_that_no_longer_exists_skips_only_that_chat(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscription whose stored timezone is unknown is logged once and set aside; the others get their digest."""
    await _subscribe_many(bot.store, 2)
    broken = ChatRef("telegram", "9")
    await bot.store.redis_for_tests.hset(
        subscriber_key(broken), mapping={"filters": '["cs.LG"]', "time": "09:30", "tz": "Mars/Olympus_Mons"}
    )
    await bot.store.redis_for_tests.sadd(SUBSCRIBERS_KEY, broken.key)
    await bot.state.set_due(broken, (FETCHED - timedelta(hours=1)).timestamp())
    await bot.engine.enqueue_tick(FETCHED - timedelta(hours=2))  # schedules the others
    with caplog.at_level(logging.ERROR):
        await bot.at(FETCHED, feed_day=TUESDAY)
        await bot.at(FETCHED + timedelta(minutes=1))
    assert sorted(c.chat_id for c, _, _ in bot.sender.sent) == ["1000", "1001"]
    assert len([r for r in caplog.records if "unreadable" in r.getMessage()]) == 1
    assert list(await bot.store.broken_subscribers()) == [broken.key]


async def test_the_matching_process_reads_each_subscription_once_a_day(
    service: DigestService, store: Store, arxiv: FakeArxiv
) -> None:
    """Above the process threshold the day's feeds and matches come from one reading of the subscriptions."""
    bot = make_bot(service, store, arxiv, ArxivCalendar())
    bot.engine = DailyEngine(service, store, bot.state, ArxivCalendar(), process_above=1)
    await _subscribe_many(store, 40)
    await bot.engine.enqueue_tick(FETCHED - timedelta(hours=2))
    bot.arxiv.rss_feeds[FEED] = feed_for(TUESDAY)
    await store.redis_for_tests.config_resetstat()
    assert await bot.engine.fetch_tick(FETCHED) == TUESDAY
    stats = await store.redis_for_tests.info("commandstats")
    reads = sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("hgetall", "hmget", "hget"))
    assert reads <= 40 + 3, f"{reads} subscription reads for 40 subscribers"


async def test_the_enqueue_tick_falls_on_the_minute(store: Store) -> None:
    """The enqueue tick runs at whole half-minutes, so chats due at 09:00 are queued in its first seconds."""
    scheduler = Scheduler(CountingTicks(), store.delivery, owner="a", enqueue_every=30, fetch_every=120)
    scheduler.start()
    try:
        for _ in range(3):
            ticks = scheduler.next_ticks()
            assert ticks["enqueue"].timestamp() % 30 == 0 and ticks["fetch"].timestamp() % 120 == 0, ticks
            await asyncio.sleep(0.05)  # the first ticks run: the next ones are on the marks too
    finally:
        await scheduler.stop()
