"""Benchmark 6, `/paper` under load: 500 users at once asking for 26 distinct papers arXiv must be asked about.

The real TelegramAdapter polls a FakeTelegram (its 30 messages/s limiter on, as in production); the papers
are in no cache, so every id needs the fake arXiv API (at arXiv's 3 s spacing) and one translation by the
fake LLM (0.5 s an answer, LLM_CONCURRENCY 4). Before the fix this load made 91 arXiv requests, with a
/paper p50 of 115 s (max 270 s). Latency is from the user's message being queued at the fake until the
final answer (not the "working on it" reply) arrives there. The 30/s send limit alone spreads the ~1,100
messages (typing, working, answer) over about 37 s, so the load runs a second time with the limit lifted
to show the bot's own part.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.common import Row, fake_service_settings, fmt_seconds, open_store, percentile, redis_server
from bot.config import Secret
from bot.runtime import build_service
from handlers.commands import Commands
from handlers.telegram_bot import TelegramAdapter
from handlers.texts import WORKING
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import FakeLLM
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram

NAME = "6 /paper under load"
USERS = 500
DISTINCT = 26
FIRST_CHAT = 800_000_000
LLM_DELAY = 0.5


async def _measure(users: int, max_rate: int) -> tuple[list[float], int, int, int]:
    """Latencies of the final answers, arXiv API requests, LLM requests and answers that were not the paper."""
    ids = [f"2404.{10000 + n}" for n in range(DISTINCT)]
    with redis_server() as server:
        async with (
            open_store(server) as store,
            FakeTelegram() as fake,
            FakeLLM() as llm,
            FakeArxiv() as arxiv,
            httpx.AsyncClient(trust_env=False) as http,
        ):
            for n, arxiv_id in enumerate(ids):
                arxiv.add_entry(arxiv_id, 1, f"Paper under load {n}", f"The abstract of paper {n}. It works.")
            llm.delay = LLM_DELAY
            settings = fake_service_settings(arxiv.rss_url, arxiv.api_url, llm.url, arxiv_min_interval=3.0)
            service = build_service(settings, store, http)
            adapter = TelegramAdapter(
                Commands(service, store), store, Secret(DEFAULT_TOKEN), fake.base_url, max_rate=max_rate
            )
            await adapter.start()
            asked: dict[int, float] = {}
            try:
                for user in range(users):
                    chat = FIRST_CHAT + user
                    asked[chat] = time.monotonic()
                    fake.user_sends(chat, f"/paper {ids[user % DISTINCT]}")
                latencies, wrong = await _final_answers(fake, asked, ids)
            finally:
                await adapter.stop()
            return latencies, arxiv.count("api"), llm.count, wrong


async def _final_answers(fake: FakeTelegram, asked: dict[int, float], ids: list[str]) -> tuple[list[float], int]:
    """Wait for every chat's final answer; its latency, and how many answers were not the translated paper."""
    latencies, wrong = [], 0
    for index, (chat, at) in enumerate(asked.items()):
        sent = await fake.wait_for_sent_to(chat, 1, timeout=300.0)
        if sent[0]["text"] == WORKING:
            sent = await fake.wait_for_sent_to(chat, 2, timeout=300.0)
        final = sent[-1]
        latencies.append(final["sent_at"] - at)
        wrong += not final["text"].startswith(f"中文：Paper under load {index % len(ids)}")
    return latencies, wrong


def run(quick: bool) -> list[Row]:
    """The arXiv requests and the p50/p99 of the final /paper answer, with and without the send limit."""
    users = 200 if quick else USERS
    rows = []
    for max_rate, limit in ((30, "30 msg/s send limit"), (10_000, "send limit lifted")):
        latencies, api_requests, llm_requests, wrong = asyncio.run(_measure(users, max_rate))
        case = f"{users} users, {DISTINCT} uncached ids, {limit}"
        rows += [
            Row(
                NAME,
                case,
                "arXiv API requests",
                str(api_requests),
                target=f"<= {DISTINCT}",
                ok=api_requests <= DISTINCT,
                note=f"{llm_requests} LLM requests; {wrong} answers not the paper",
            ),
            Row(NAME, case, "p50", fmt_seconds(percentile(latencies, 0.50))),
            Row(
                NAME,
                case,
                "p99",
                fmt_seconds(percentile(latencies, 0.99)),
                target="< 60 s",
                ok=max(latencies) < 60,
                note=f"max {fmt_seconds(max(latencies))}",
            ),
        ]
    return rows
