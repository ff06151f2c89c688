"""Crash safety: a delivery worker killed with SIGKILL mid-run, and Redis restarted mid-run with AOF on."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from datetime import date
from pathlib import Path

from bot.arxiv_source import parse_rss
from bot.delivery import DeliveryWorker
from bot.redis_server import RedisServer, free_port
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef
from tests.fakes.telegram_server import FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.test_delivery import RecordingSender, feed_for
from tests.worker_processes import (
    FOUR_MESSAGES,
    deliver_with_worker,
    kill_mid_send,
    listing_of,
    queue_day,
    start_worker,
    worker_env,
)

DAY = date(2024, 3, 25)


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
    state = await queue_day(store, chats, parse_rss(feed_for(DAY)))
    env = worker_env(tmp_path, redis_server.url, fake_telegram, TELEGRAM_MAX_RATE="500", DELIVERY_CLAIM_IDLE="1")
    first = await start_worker(env, tmp_path)
    await fake_telegram.wait_for_sent(150, timeout=60)
    fake_telegram.sends_open.clear()
    await asyncio.sleep(0.5)  # the worker's next sends are now in flight, unanswered
    await kill_mid_send(first, fake_telegram)
    assert len(fake_telegram.sent) < 500

    await deliver_with_worker(env, tmp_path, fake_telegram, state, 500)
    per_chat = Counter(str(m["chat_id"]) for m in fake_telegram.sent)
    assert set(per_chat) == {c.chat_id for c in chats}
    assert set(per_chat.values()) == {1}, [c for c, n in per_chat.items() if n != 1]
    assert await state.queue_depth() == 0


async def test_a_killed_delivery_resumes_after_the_messages_already_sent(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram
) -> None:
    """A 4-message digest whose worker is killed after message 2: the next worker sends only messages 3 and 4."""
    chat = ChatRef("telegram", "30001")
    state = await queue_day(store, [chat], listing_of(FOUR_MESSAGES))
    env = worker_env(tmp_path, redis_server.url, fake_telegram, DELIVERY_CLAIM_IDLE="1")
    first = await start_worker(env, tmp_path)
    await fake_telegram.wait_for_sent(2, timeout=60)
    fake_telegram.sends_open.clear()  # message 3 leaves a second later (pacing) and is held unanswered
    while len(fake_telegram.calls("sendMessage")) < 3:
        await asyncio.sleep(0.05)
    await kill_mid_send(first, fake_telegram)

    await deliver_with_worker(env, tmp_path, fake_telegram, state, 4)
    texts = [m["text"] for m in fake_telegram.sent_to(30001)]
    assert len(texts) == 4 and len(set(texts)) == 4
    assert all(sum(t.count(f"Paper {n} on") for t in texts) == 1 for n in range(FOUR_MESSAGES))


async def test_redis_restart_with_aof_loses_nothing(tmp_path: Path, service: DigestService) -> None:
    """Subscribers and queued deliveries survive a Redis restart mid-run, and the rest go out exactly once."""
    server = RedisServer(port=free_port(), password=os.urandom(8).hex(), data_dir=tmp_path / "redis")
    server.start()
    store = Store.from_url(server.url)
    try:
        chats = [ChatRef("telegram", str(n)) for n in range(1, 41)]
        state = await queue_day(store, chats, parse_rss(feed_for(DAY)))
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
