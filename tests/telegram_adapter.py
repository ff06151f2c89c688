"""The real Telegram adapter, started against a fake Bot API with a pacing interval of the test's choosing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Secret
from bot.service import DigestService
from bot.store import Store
from handlers.commands import Commands
from handlers.pacing import ChatPacer
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram


@asynccontextmanager
async def running_adapter(
    fake: FakeTelegram, service: DigestService, store: Store, private_interval: float = 0.2, group_interval: float = 0.4
) -> AsyncIterator[TelegramAdapter]:
    """The adapter polling `fake`, pacing each chat as given (short by default, so tests stay quick)."""
    adapter = TelegramAdapter(
        Commands(service, store),
        store,
        Secret(DEFAULT_TOKEN),
        fake.base_url,
        pacer=ChatPacer(private_interval=private_interval, group_interval=group_interval),
    )
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.stop()
