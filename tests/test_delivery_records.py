"""A chat's delivery records through the real Telegram adapter: a group migrating mid-delivery, /stop mid-delivery.

Each test ends by scanning the whole Redis for the chat's id: what a user was told is gone must be gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.calendar import ArxivCalendar
from bot.config import Secret
from bot.delivery import DailyEngine, DeliveryWorker
from bot.service import DigestService
from bot.store import Store
from bot.store.delivery import DeliveryState
from bot.subscribers import ChatRef
from handlers import texts
from handlers.commands import Commands, Incoming
from handlers.pacing import ChatPacer
from handlers.replies import TextReply
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.redis_cluster import ON_BOTH_BACKENDS
from tests.worker_processes import FOUR_MESSAGES, listing_of, queue_day, traces_of

pytestmark = ON_BOTH_BACKENDS

GROUP, SUPERGROUP, USER = -4001, -1009999, 4242


@dataclass
class Delivery:
    """A worker sending through the real adapter to the fake Telegram, and the chat commands of the same bot."""

    worker: DeliveryWorker
    commands: Commands
    state: DeliveryState


@pytest.fixture(name="delivery")
async def fixture_delivery(
    fake_telegram: FakeTelegram, service: DigestService, store: Store
) -> AsyncIterator[Delivery]:
    """The real TelegramAdapter (short pacing so tests stay quick) behind a delivery worker."""
    commands = Commands(service, store)
    adapter = TelegramAdapter(
        commands,
        store,
        Secret(DEFAULT_TOKEN),
        fake_telegram.base_url,
        pacer=ChatPacer(private_interval=0.2, group_interval=0.4),
    )
    await adapter.start(polling=False)
    state = store.delivery
    yield Delivery(DeliveryWorker(store, state, service, {"telegram": adapter}, "w1", claim_idle_ms=0), commands, state)
    await adapter.stop()


async def _wait_for_requests(fake: FakeTelegram, count: int) -> None:
    """Wait until `count` sendMessage requests reached the fake (answered or held)."""
    for _ in range(100):
        if len(fake.calls("sendMessage")) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {len(fake.calls('sendMessage'))} sendMessage requests arrived")


async def test_a_group_migrating_mid_delivery_gets_the_day_once_under_its_new_id(
    fake_telegram: FakeTelegram, delivery: Delivery, store: Store, service: DigestService
) -> None:
    """The rest of the digest goes to the supergroup, the day is recorded for it, and nothing of the old id remains."""
    old = ChatRef("telegram", str(GROUP))
    await queue_day(store, [old], listing_of(FOUR_MESSAGES))
    sending = asyncio.create_task(delivery.worker.work_once())
    await fake_telegram.wait_for_sent_to(GROUP, 1)
    fake_telegram.migrate(GROUP, SUPERGROUP)
    assert await sending == 1
    before, after = fake_telegram.sent_to(GROUP), fake_telegram.sent_to(SUPERGROUP)
    assert before and after and len(before) + len(after) == 4
    assert len({m["text"] for m in before + after}) == 4, "no message of the digest twice"
    assert await traces_of(store, old) == []

    engine = DailyEngine(service, store, delivery.state, ArxivCalendar())
    assert await engine.enqueue_tick(datetime(2024, 3, 29, 2, tzinfo=UTC)) == 0  # schedules the new id
    assert await engine.enqueue_tick(datetime(2024, 3, 30, 1, 5, tzinfo=UTC)) == 0  # its 09:00 Saturday, no news
    assert await delivery.state.queue_depth() == 0
    assert len(fake_telegram.sent_to(SUPERGROUP)) == len(after)


async def test_stop_during_a_delivery_leaves_no_trace_of_the_chat(
    fake_telegram: FakeTelegram, delivery: Delivery, store: Store
) -> None:
    """/stop while the digest's first message is in flight: no further message, and no key mentions the chat."""
    chat = ChatRef("telegram", str(USER))
    await queue_day(store, [chat], listing_of(FOUR_MESSAGES))
    fake_telegram.sends_open.clear()
    sending = asyncio.create_task(delivery.worker.work_once())
    await _wait_for_requests(fake_telegram, 1)
    [reply] = await delivery.commands.handle(Incoming(chat, str(USER), "/stop"))
    assert isinstance(reply, TextReply) and reply.text == texts.STOPPED
    fake_telegram.sends_open.set()
    assert await sending == 1
    assert len(fake_telegram.sent_to(USER)) == 1, "the message in flight arrives, nothing after it"
    assert await traces_of(store, chat) == []
