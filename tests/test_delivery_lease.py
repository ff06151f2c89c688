"""Delivery workers as real processes: slow deliveries stay with their live worker, and chats go side by side.

A live worker's delivery is never taken over however slowly it sends, and one worker keeps many chats in flight
at once instead of waiting for the slowest chat of a batch.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bot.redis_server import RedisServer
from bot.store import Store
from bot.store.keys import lease_key
from bot.subscribers import ChatRef
from tests.fakes.telegram_server import FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.worker_processes import (
    FOUR_MESSAGES,
    TWO_MESSAGES,
    deliver_with_worker,
    listing_of,
    queue_day,
    start_worker,
    stop_workers,
    wait_until_drained,
    worker_env,
)


async def test_a_slow_delivery_is_not_sent_again_by_a_second_live_worker(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram
) -> None:
    """Two live workers and a Telegram answering each send after 1.5 s, a claim idle of 1 s: each chat once."""
    chats = [ChatRef("telegram", str(20_000 + n)) for n in range(6)]
    state = await queue_day(store, chats, listing_of(TWO_MESSAGES))
    fake_telegram.send_delay = 1.5  # a 2-message digest takes over 3 claim idle times to send
    env = worker_env(tmp_path, redis_server.url, fake_telegram, TELEGRAM_MAX_RATE="100", DELIVERY_CLAIM_IDLE="1")
    workers = [await start_worker(env, tmp_path) for _ in range(2)]
    try:
        await wait_until_drained(state, timeout=60)
        await asyncio.sleep(2)  # room for a wrongly taken-over delivery to arrive a second time
    finally:
        await stop_workers(*workers)
    per_chat = Counter(str(m["chat_id"]) for m in fake_telegram.sent)
    assert per_chat == {c.chat_id: 2 for c in chats}
    assert all(len({m["text"] for m in fake_telegram.sent_to(int(c.chat_id))}) == 2 for c in chats)


async def test_one_worker_sends_many_chats_side_by_side(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram
) -> None:
    """60 chats with 4-message digests (1 message a second per chat) through one worker take seconds, not minutes.

    Waiting for each batch of 16 deliveries to finish needs at least 4 rounds of 3 s (12 s); keeping every chat in
    flight sends them all side by side in about 3 s. The bound of 8 s leaves room for a loaded machine.
    """
    chats = [ChatRef("telegram", str(40_000 + n)) for n in range(60)]
    state = await queue_day(store, chats, listing_of(FOUR_MESSAGES))
    env = worker_env(tmp_path, redis_server.url, fake_telegram, TELEGRAM_MAX_RATE="500")
    await deliver_with_worker(env, tmp_path, fake_telegram, state, 240)
    per_chat = Counter(str(m["chat_id"]) for m in fake_telegram.sent)
    assert per_chat == {c.chat_id: 4 for c in chats}
    times = sorted(m["sent_at"] for m in fake_telegram.sent)
    assert times[-1] - times[0] < 8, f"240 messages took {times[-1] - times[0]:.1f} s"


async def test_a_late_renewal_does_not_take_back_a_delivery_another_worker_claimed(store: Store) -> None:
    """A worker that stalled past its lease keeps its delivery if nobody claimed it, and loses it if someone did."""
    state = await queue_day(store, [ChatRef("telegram", "50001"), ChatRef("telegram", "50002")], listing_of(1))
    first, second = await state.read("a", 10, 0, lease_ms=100)
    await asyncio.sleep(0.3)  # "a" stalls: both leases run out
    assert await state.renew_leases("a", [first.entry_id], 1000) == [], "unclaimed: taken back"
    [taken] = await state.claim_stale("b", 0, 10, 1000)
    assert taken.entry_id == second.entry_id, "only the delivery without a live lease is claimed"
    assert await state.renew_leases("a", [first.entry_id, second.entry_id], 1000) == [second.entry_id]
    assert await store.redis_for_tests.get(lease_key(second.entry_id)) == "b"
    assert await state.claim_stale("c", 0, 10, 1000) == []
