"""Fairness between chats on Telegram: one chat's flood delays only that chat, and one chat's commands keep order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef
from handlers.telegram_bot import TelegramAdapter
from handlers.texts import STOPPED, WELCOME
from handlers.update_order import MAX_BACKLOG
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.telegram_adapter import running_adapter

FLOODER = 5151
BYSTANDER = 6262
FLOOD = 150


@pytest.fixture(name="paced_adapter")
async def fixture_paced_adapter(
    fake_telegram: FakeTelegram, service: DigestService, store: Store
) -> AsyncIterator[TelegramAdapter]:
    """The real adapter polling the fake, pacing each chat to one message every 0.2 s (Telegram's is 1 s)."""
    async with running_adapter(fake_telegram, service, store) as adapter:
        yield adapter


async def test_a_flooding_chat_does_not_delay_another_chat(
    fake_telegram: FakeTelegram, paced_adapter: TelegramAdapter
) -> None:
    """While one chat sends 150 /help at once, another chat's /start is answered within 2 seconds."""
    for _ in range(FLOOD):
        fake_telegram.user_sends(FLOODER, "/help")
    await fake_telegram.wait_for_sent_to(FLOODER, 2, timeout=10)  # the flood is being answered, 1 a second
    asked = time.monotonic()
    fake_telegram.user_sends(BYSTANDER, "/start")
    await fake_telegram.wait_for_sent_to(BYSTANDER, 1, timeout=30)
    assert time.monotonic() - asked < 2.0
    assert len(fake_telegram.sent_to(FLOODER)) < MAX_BACKLOG, "the flood was still being answered"


async def test_a_flood_costs_its_sender_a_bounded_number_of_answers(
    fake_telegram: FakeTelegram, paced_adapter: TelegramAdapter
) -> None:
    """Of 150 /help sent at once by one chat, about MAX_BACKLOG are answered, and its next /start soon after."""
    for _ in range(FLOOD):
        fake_telegram.user_sends(FLOODER, "/help")
    await fake_telegram.wait_for_sent_to(FLOODER, MAX_BACKLOG, timeout=30)
    await asyncio.sleep(2.0)
    answered = len(fake_telegram.sent_to(FLOODER))
    fake_telegram.user_sends(FLOODER, "/start")
    replies = await fake_telegram.wait_for_sent_to(FLOODER, answered + 1, timeout=5)
    assert replies[answered]["text"].startswith(WELCOME.strip()[:10]), "/start was answered after the backlog"
    assert MAX_BACKLOG <= answered < FLOOD // 2


async def test_one_chats_commands_are_handled_in_the_order_sent(
    fake_telegram: FakeTelegram, paced_adapter: TelegramAdapter, store: Store
) -> None:
    """/subscribe followed at once by /stop leaves every chat unsubscribed, with the replies in that order."""
    chats = [7000 + n for n in range(10)]
    for chat in chats:
        fake_telegram.user_sends(chat, "/subscribe cs.LG")
        fake_telegram.user_sends(chat, "/stop")
    replies = await asyncio.gather(*(fake_telegram.wait_for_sent_to(chat, 2, timeout=20) for chat in chats))
    assert all(first["text"] != STOPPED and second["text"] == STOPPED for first, second in replies)
    assert [await store.get_subscriber(ChatRef("telegram", str(chat))) for chat in chats] == [None] * len(chats)
