"""`run` and `worker` survive a Redis outage: one log line for it, an apology to users, nothing lost after it."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import time as dtime
from pathlib import Path

import pytest

from bot.arxiv_source import parse_rss
from bot.redis_server import RedisServer, free_port
from bot.store import Store
from bot.subscribers import ChatRef, Lang, Subscriber
from tests.bot_process import BotProcess
from tests.cli_runner import base_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.test_delivery import feed_for
from tests.test_delivery_crash import DAY
from tests.worker_processes import TOPIC, queue_day


@pytest.fixture(name="aof_redis")
async def fixture_aof_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A redis-server of the test's own, with append-only persistence, that the test may stop and start."""
    server = RedisServer(port=free_port(), password=os.urandom(8).hex(), data_dir=tmp_path / "redis")
    server.start()
    yield server
    server.stop()


async def test_run_and_worker_survive_a_30_second_redis_outage(
    tmp_path: Path, aof_redis: RedisServer, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """Redis stopped 30 s with deliveries pending: both processes live on, log the outage once, deliver each once."""
    store = Store.from_url(aof_redis.url)
    first = [ChatRef("telegram", str(100 + n)) for n in range(16)]
    later = [ChatRef("telegram", str(200 + n)) for n in range(8)]
    await queue_day(store, first, parse_rss(feed_for(DAY)))
    for chat in later:
        await store.save_subscriber(Subscriber(chat, (TOPIC,), dtime(9), "Asia/Shanghai", Lang.EN))
    env = base_env(
        tmp_path,
        REDIS_URL=aof_redis.url,
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=fake_telegram.base_url,
        ARXIV_RSS_URL=arxiv.rss_url,
        ARXIV_API_URL=arxiv.api_url,
        TELEGRAM_MAX_RATE="500",
        DELIVERY_CLAIM_IDLE="2",
        DELIVERY_MAX_ATTEMPTS="1000",
    )
    # The first digests fail until after the outage: they stay pending in the queue throughout it.
    fake_telegram.refused_chats = {int(c.chat_id) for c in first}
    bot = await BotProcess.start("run", env, tmp_path)
    worker: BotProcess | None = None
    try:
        await bot.wait_for_line("delivery worker")
        worker = await BotProcess.start("worker", env, tmp_path)
        await worker.wait_for_line("delivery worker")
        await store.close()

        aof_redis.stop()
        await asyncio.gather(bot.wait_for_line("redis unreachable"), worker.wait_for_line("redis unreachable"))
        fake_telegram.user_sends(7, "/list")
        [apology] = await fake_telegram.wait_for_sent_to(7, 1, timeout=20)
        assert "try again later" in apology["text"]
        await asyncio.sleep(30)
        aof_redis.start()
        await asyncio.gather(bot.wait_for_line("redis back after"), worker.wait_for_line("redis back after"))
        fake_telegram.refused_chats.clear()

        store = Store.from_url(aof_redis.url)
        state = store.delivery
        for chat in later:  # subscribed before the outage, queued after it
            assert await state.enqueue(chat, DAY.isoformat(), 0)
        await fake_telegram.wait_for_sent(1 + len(first) + len(later), timeout=60)
        await asyncio.sleep(1)  # a second copy would arrive now
        assert bot.alive and worker.alive
    finally:
        await store.close()
        codes = [await bot.stop()] + ([await worker.stop()] if worker else [])
    assert codes == [0, 0], bot.log + (worker.log if worker else "")
    per_chat = Counter(str(m["chat_id"]) for m in fake_telegram.sent if m["chat_id"] != 7)
    assert per_chat == Counter({c.chat_id: 1 for c in first + later})
    for process in (bot, worker):
        assert process.count("redis unreachable") == 1, process.log
        assert process.count("redis back after") == 1, process.log
        assert "Traceback" not in process.log, process.log
