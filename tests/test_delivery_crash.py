"""Crash safety: a delivery worker killed with SIGKILL mid-run, and Redis restarted mid-run with AOF on."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import date, time
from pathlib import Path

from bot.arxiv_source import parse_rss
from bot.delivery import DeliveryWorker
from bot.filters import parse_filter
from bot.redis_server import RedisServer, free_port
from bot.service import DigestService
from bot.store import Store
from bot.store.delivery import DeliveryState
from bot.subscribers import ChatRef, Lang, Subscriber
from tests.cli_runner import ARXIV_DIGEST, base_env
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.test_delivery import RecordingSender, feed_for

DAY = date(2024, 3, 25)
TOPIC = parse_filter("cs.LG stat.ML")


async def _prepare(store: Store, chats: list[ChatRef]) -> DeliveryState:
    """Subscribe the chats, make the day ready and queue one delivery per chat."""
    state = DeliveryState(store.redis)
    await state.ensure_group()
    for chat in chats:
        await store.save_subscriber(Subscriber(chat, (TOPIC,), time(9), "Asia/Shanghai", Lang.EN))
    await state.save_day(DAY, parse_rss(feed_for(DAY)))
    for chat in chats:
        assert await state.enqueue(chat, DAY.isoformat(), 0)
    return state


async def _start_worker(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """Start `arxiv-digest worker` as its own process."""
    return await asyncio.create_subprocess_exec(
        ARXIV_DIGEST, "worker", cwd=cwd, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )


async def test_killed_worker_leaves_no_subscriber_without_or_with_two_digests(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram
) -> None:
    """SIGKILL a worker in the middle of 500 deliveries, start another: every chat has exactly one digest.

    The kill lands while sends are in flight (held unanswered at the fake Telegram), the usual place a crash
    meets a send; the worker that takes over resumes from the pending entries. (A crash in the instant
    between Telegram accepting a message and Redis recording it would repeat that message: no client can
    close that window, since Telegram has no idempotency key.)
    """
    chats = [ChatRef("telegram", str(10_000 + n)) for n in range(500)]
    state = await _prepare(store, chats)
    env = base_env(tmp_path, REDIS_URL=redis_server.url, TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
                   TELEGRAM_API_URL=fake_telegram.base_url, TELEGRAM_MAX_RATE="500", DELIVERY_CLAIM_IDLE="1")
    first = await _start_worker(env, tmp_path)
    await fake_telegram.wait_for_sent(150, timeout=60)
    fake_telegram.sends_open.clear()
    await asyncio.sleep(0.5)  # the worker's next sends are now in flight, unanswered
    first.kill()
    await first.wait()
    delivered_before = len(fake_telegram.sent)
    assert delivered_before < 500
    fake_telegram.sends_open.set()

    second = await _start_worker(env, tmp_path)
    try:
        await fake_telegram.wait_for_sent(500, timeout=90)
        for _ in range(100):
            if await state.queue_depth() == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        second.terminate()
        await second.wait()
    per_chat = Counter(str(m["chat_id"]) for m in fake_telegram.sent)
    assert set(per_chat) == {c.chat_id for c in chats}
    assert set(per_chat.values()) == {1}, [c for c, n in per_chat.items() if n != 1]
    assert await state.queue_depth() == 0


async def test_redis_restart_with_aof_loses_nothing(tmp_path: Path, service: DigestService) -> None:
    """Subscribers and queued deliveries survive a Redis restart mid-run, and the rest go out exactly once."""
    server = RedisServer(port=free_port(), password=os.urandom(8).hex(), data_dir=tmp_path / "redis")
    server.start()
    store = Store.from_url(server.url)
    try:
        chats = [ChatRef("telegram", str(n)) for n in range(1, 41)]
        state = await _prepare(store, chats)
        sender = RecordingSender()
        worker = DeliveryWorker(store, state, service, {"telegram": sender}, "w", claim_idle_ms=0, batch=10)
        await worker.work_once()
        assert len(sender.sent) == 10

        server.stop()
        server.start()

        assert len(await store.subscriber_chats()) == 40
        assert await state.queue_depth() == 30
        while await worker.work_once():
            pass
        assert sorted(int(c.chat_id) for c, _, _ in sender.sent) == list(range(1, 41))
    finally:
        await store.close()
        server.stop()
