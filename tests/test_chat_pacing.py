"""One chat's messages stay a chat's interval apart from when each really reached Telegram, however slow the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.service import DigestService
from bot.store import Store
from handlers.replies import TextReply
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401
from tests.telegram_adapter import running_adapter

USER = 4242
INTERVAL = 1.0  # long against a loopback round trip, even on a loaded machine
SLOW_SEND = 0.6  # the first message takes this long before Telegram takes it: less than INTERVAL


@pytest.fixture(name="adapter")
async def fixture_adapter(
    fake_telegram: FakeTelegram, service: DigestService, store: Store
) -> AsyncIterator[TelegramAdapter]:
    """The real adapter against the fake Bot API, pacing each chat INTERVAL seconds apart."""
    async with running_adapter(fake_telegram, service, store, INTERVAL, INTERVAL) as adapter:
        yield adapter


async def test_the_interval_counts_from_when_a_slow_message_arrived(
    fake_telegram: FakeTelegram, adapter: TelegramAdapter
) -> None:
    """After a message Telegram took late, the chat's next message waits a full interval from that moment."""
    fake_telegram.send_delay = SLOW_SEND
    sending = asyncio.create_task(adapter.send(USER, [TextReply("first"), TextReply("second")]))
    while not any(method.lower() == "sendmessage" for method, _ in fake_telegram.requests):
        await asyncio.sleep(0.01)
    fake_telegram.send_delay = 0.0  # only the first message is slow
    await sending
    first, second = fake_telegram.sent_to(USER)
    gap = second["sent_at"] - first["sent_at"]
    assert gap >= INTERVAL - 0.05, f"the second message reached Telegram {gap:.2f} s after the first"
