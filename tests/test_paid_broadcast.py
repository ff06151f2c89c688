"""TELEGRAM_PAID_BROADCAST: digests go out as paid broadcasts at up to 1,000 a second; answers to users stay free."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bot.config import Secret
from bot.redis_server import RedisServer
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef
from handlers.commands import Commands
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.telegram_server import DEFAULT_TOKEN, GLOBAL_PER_SECOND, FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.worker_processes import (
    listing_of,
    queue_day,
    rate_while_busy,
    start_worker,
    stop_workers,
    wait_until_drained,
    worker_env,
)

PAID_CHATS = 900  # one one-message digest each: far more than 30 a second could send in the test's time
FREE_CHATS = 45
USER = 4242


async def _deliver(tmp_path: Path, store: Store, redis_url: str, chats: int, workers: int, **env: str) -> FakeTelegram:
    """Queue one one-message digest for each of `chats` private chats and deliver them with `workers` workers."""
    chat_refs = [ChatRef("telegram", str(50_000 + n)) for n in range(chats)]
    state = await queue_day(store, chat_refs, listing_of(1))
    async with FakeTelegram(enforce_limits=True) as telegram:
        environment = worker_env(tmp_path, redis_url, telegram, **env)
        processes = [await start_worker(environment, tmp_path) for _ in range(workers)]
        try:
            await telegram.wait_for_sent(chats, timeout=120)
            await wait_until_drained(state, timeout=30)
            await asyncio.sleep(0.3)  # anything sent twice would arrive now
        finally:
            await stop_workers(*processes)
    return telegram


async def test_paid_broadcasts_deliver_far_above_30_a_second_without_a_429(
    tmp_path: Path, store: Store, redis_server: RedisServer
) -> None:
    """Two `worker`s with TELEGRAM_PAID_BROADCAST=true: every digest flagged, once per chat, > 90 a second, no 429."""
    telegram = await _deliver(tmp_path, store, redis_server.url, PAID_CHATS, 2, TELEGRAM_PAID_BROADCAST="true")
    assert Counter(str(m["chat_id"]) for m in telegram.sent) == {str(50_000 + n): 1 for n in range(PAID_CHATS)}
    assert all(m["paid"] for m in telegram.sent) and telegram.paid_sent == PAID_CHATS
    assert telegram.rate_limited == 0 and telegram.limit_violations == []
    rate = rate_while_busy(sorted(m["sent_at"] for m in telegram.sent))
    assert rate > 3 * GLOBAL_PER_SECOND, f"{rate:.0f} messages a second"


async def test_without_the_setting_digests_are_free_and_stay_under_30_a_second(
    tmp_path: Path, store: Store, redis_server: RedisServer
) -> None:
    """A `worker` without TELEGRAM_PAID_BROADCAST sends no paid message and keeps to Telegram's free 30 a second."""
    telegram = await _deliver(tmp_path, store, redis_server.url, FREE_CHATS, 1)
    assert len(telegram.sent) == FREE_CHATS and telegram.paid_sent == 0
    assert not any(m["paid"] for m in telegram.sent)
    assert telegram.rate_limited == 0 and telegram.limit_violations == []


async def test_answers_to_commands_are_never_paid(
    fake_telegram: FakeTelegram, service: DigestService, store: Store
) -> None:
    """With paid broadcasts on, a user's /help is answered as an ordinary, free message."""
    adapter = TelegramAdapter(
        Commands(service, store), store, Secret(DEFAULT_TOKEN), fake_telegram.base_url, paid_broadcast=True
    )
    await adapter.start()
    try:
        fake_telegram.user_sends(USER, "/help")
        [answer] = await fake_telegram.wait_for_sent_to(USER, 1)
    finally:
        await adapter.stop()
    assert not answer["paid"] and fake_telegram.paid_sent == 0
