"""Benchmark: another chat's latency while one chat floods the bot, through the real Telegram adapter.

One private chat sends FLOOD `/help` at once; while its answers go out at Telegram's pace (one a second per
chat), BYSTANDERS other chats each send `/start`, one every 0.2 s. Measured at the fake Bot API: from each
bystander's update being queued to its answer arriving. The baseline is the same adapter with
python-telegram-bot's plain `concurrent_updates(64)`, where the flood's updates wait for their chat's pacing
inside the 64 shared slots (the behaviour before handlers/update_order.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from unittest import mock

import httpx

from bench.common import Row, fmt_seconds, open_store, percentile, redis_server
from bot.config import Secret, settings_from_mapping
from bot.runtime import build_service
from handlers import telegram_bot
from handlers.commands import Commands
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram

NAME = "flood"
FLOOD = 150
FLOODER = 900_000_000
BYSTANDERS = 20
TARGET = 2.0  # seconds: another chat's answer during a flood (issue 11)


OLD_SLOTS = 64  # what the adapter passed to `concurrent_updates` before per-chat ordering


def _plain_processor(max_running: int) -> int:
    """python-telegram-bot's own processor with the old 64 slots: an int to `concurrent_updates` (the baseline)."""
    return OLD_SLOTS


async def _latencies(per_chat_order: bool) -> tuple[list[float], int]:
    """Bystanders' answer latencies during a flood, and how many flood answers went out meanwhile."""
    with redis_server() as server:
        async with open_store(server) as store, FakeTelegram() as fake, httpx.AsyncClient(trust_env=False) as http:
            service = build_service(settings_from_mapping({}), store, http)
            baseline = mock.patch.object(telegram_bot, "PerChatUpdateProcessor", _plain_processor)
            with contextlib.nullcontext() if per_chat_order else baseline:
                adapter = TelegramAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), fake.base_url)
            await adapter.start()
            try:
                for _ in range(FLOOD):
                    fake.user_sends(FLOODER, "/help")
                await fake.wait_for_sent_to(FLOODER, 1, timeout=30)
                asked: dict[int, float] = {}
                for n in range(BYSTANDERS):
                    chat = FLOODER + 1 + n
                    asked[chat] = time.monotonic()
                    fake.user_sends(chat, "/start")
                    await asyncio.sleep(0.2)
                latencies = []
                for chat, at in asked.items():
                    await fake.wait_for_sent_to(chat, 1, timeout=300)
                    latencies.append(fake.sent_to(chat)[0]["sent_at"] - at)
                flood_answers = len(fake.sent_to(FLOODER))
            finally:
                await adapter.stop()
            return latencies, flood_answers


def _rows(case: str, latencies: list[float], flood_answers: int, with_target: bool) -> list[Row]:
    """The table rows of one case."""
    p99 = percentile(latencies, 0.99)
    return [
        Row(
            NAME,
            case,
            "another chat's answer p50 / p99",
            f"{fmt_seconds(percentile(latencies, 0.5))} / {fmt_seconds(p99)}",
            target=f"< {TARGET:.0f} s" if with_target else "",
            ok=p99 < TARGET if with_target else None,
            note=f"{BYSTANDERS} chats' /start during {FLOOD} /help from one chat; flood answers sent: {flood_answers}",
        ),
    ]


def run(quick: bool) -> list[Row]:
    """The baseline (plain concurrent updates), then the adapter as shipped."""
    rows: list[Row] = []
    if not quick:
        before, flood = asyncio.run(_latencies(per_chat_order=False))
        rows += _rows("before: concurrent_updates(64)", before, flood, with_target=False)
    after, flood = asyncio.run(_latencies(per_chat_order=True))
    rows += _rows("as shipped: per-chat order, backlog 30", after, flood, with_target=True)
    return rows
