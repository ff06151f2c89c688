"""Benchmark 9, queueing: every chat due in the same minute (09:00 Shanghai, the default), queued by one tick.

The real DailyEngine.enqueue_tick against a real redis-server holding the subscriptions as the bot stores them,
each chat already scheduled for that minute and the day ready: the time from the tick's start to the last digest
queued, its CPU in this process, and Redis round trips per chat counted on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, time

import httpx

from bench.audience import CountingConnection, counting_store, make_day_ready, store_audience
from bench.common import Row, fmt_count, fmt_seconds, redis_server, timed
from bench.storage import used_memory
from bench.synthetic import make_papers
from bot.calendar import ArxivCalendar
from bot.config import settings_from_mapping
from bot.delivery import DailyEngine
from bot.filters import parse_filter
from bot.runtime import build_service
from bot.subscribers import ChatRef, Lang, Subscriber

NAME = "9 queueing"
TARGET_SECONDS = 10.0
TARGET_SIZE = 100_000
NOW = datetime(2024, 2, 6, 1, 0, tzinfo=UTC)  # Tuesday 09:00 in Shanghai, an hour after Monday's announcement
FIRST_CHAT = 700_000_000


def _audience(size: int) -> Iterator[Subscriber]:
    """`size` Telegram chats reading cs.LG at the default time (queueing does not depend on the filters)."""
    filters = (parse_filter("cs.LG"),)
    for i in range(size):
        yield Subscriber(ChatRef("telegram", str(FIRST_CHAT + i)), filters, time(9), "Asia/Shanghai", Lang.BOTH)


async def _measure(size: int) -> Row:
    """Store `size` due chats, then time one enqueue tick at their minute."""
    calendar = ArxivCalendar()
    day = calendar.latest_listing_day(NOW)
    assert day is not None
    with redis_server() as server:
        store = counting_store(server.url)
        try:
            await store_audience(store, _audience(size), due_epoch=NOW.timestamp())
            await make_day_ready(store, day, tuple(make_papers(3)))
            memory = await used_memory(store)
            async with httpx.AsyncClient(trust_env=False) as http:
                service = build_service(settings_from_mapping({}), store, http)
                engine = DailyEngine(service, store, store.delivery, calendar)
                CountingConnection.sent = 0
                with timed() as watch:
                    queued = await engine.enqueue_tick(NOW)
                trips = CountingConnection.sent
            depth = await store.delivery.queue_depth()
        finally:
            await store.close()
    is_target = size == TARGET_SIZE
    return Row(
        NAME,
        f"{fmt_count(size)} chats due at 09:00 Shanghai",
        "one enqueue tick: all queued (wall)",
        fmt_seconds(watch.wall),
        target=f"< {TARGET_SECONDS:g} s" if is_target else "",
        ok=(watch.wall < TARGET_SECONDS and queued == depth == size) if is_target else None,
        note=(
            f"{queued:,} queued ({depth:,} on the stream); CPU {fmt_seconds(watch.cpu)} in this process;"
            f" {trips:,} Redis round trips = {trips / size:.4f} per chat;"
            f" Redis used_memory before the tick {memory / size:,.0f} B per chat"
        ),
    )


def run(quick: bool) -> list[Row]:
    """Queue 100k and 1M chats due in one minute (10k and 100k quick)."""
    sizes = (10_000, 100_000) if quick else (100_000, 1_000_000)
    return [asyncio.run(_measure(size)) for size in sizes]
