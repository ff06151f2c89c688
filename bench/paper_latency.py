"""Benchmark 5, `/paper` latency: from getUpdates handing the update to the bot until its reply reaches the fake.

The real TelegramAdapter polls a FakeTelegram subclass that timestamps each update when getUpdates hands
it out and each sendMessage request when it arrives (before the fake parses the HTML). The paper is cached
(Store.put_papers plus one translation through the fake LLM), so no arXiv or LLM request is made. Every
request comes from its own private chat, so ChatPacer never delays a reply, and requests are spaced 80 ms
apart, well under the 30/s send limit. The reply takes the next free slot of the shared limiter (one Redis
call, bot/store/limiter.py); the "typing" action takes none, as Telegram does not count chat actions.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from aiohttp import web

from bench.common import Row, fake_service_settings, fmt_seconds, open_store, percentile, redis_server
from bench.synthetic import make_papers
from bot.config import Secret
from bot.runtime import build_service
from handlers.commands import Commands
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import FakeLLM
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram

NAME = "5 /paper latency"
TARGET_P99 = 0.020
SPACING = 0.080
FIRST_CHAT = 700_000_000


class TimingTelegram(FakeTelegram):
    """FakeTelegram that records when each update is first handed out and when each sendMessage arrives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handed_out: dict[int, float] = {}
        self.arrived: dict[int, float] = {}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Stamp each update the first time it leaves."""
        updates = await super()._get_updates(params)
        now = time.perf_counter()
        for update in updates:
            chat = update.get("message", {}).get("chat", {}).get("id")
            if isinstance(chat, int):
                self.handed_out.setdefault(chat, now)
        return updates

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        """Stamp a sendMessage request on arrival (its body is read here, before any validation)."""
        arrived = time.perf_counter()
        params = await super()._read_params(request)
        if request.path.lower().endswith("/sendmessage"):
            chat = params.get("chat_id")
            if isinstance(chat, int):
                self.arrived.setdefault(chat, arrived)
        return params


async def _measure(requests: int) -> tuple[list[float], int, int]:
    """Send `requests` `/paper` commands from distinct chats, one every SPACING s: latencies, replies, chat actions."""
    paper = make_papers(1, seed=5)[0]
    with redis_server() as server:
        async with (
            open_store(server) as store,
            TimingTelegram() as fake,
            FakeLLM() as llm,
            FakeArxiv() as arxiv,
            httpx.AsyncClient(trust_env=False) as http,
        ):
            settings = fake_service_settings(arxiv.rss_url, arxiv.api_url, llm.url)
            service = build_service(settings, store, http)
            await store.put_papers([paper])
            await service.paper(paper.arxiv_id)  # the one translation, cached in Redis
            adapter = TelegramAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), fake.base_url)
            await adapter.start()
            try:
                for n in range(requests):
                    started = time.perf_counter()
                    chat = FIRST_CHAT + n
                    fake.user_sends(chat, f"/paper {paper.arxiv_id}")
                    await fake.wait_for_sent_to(chat, 1, timeout=10.0)
                    await asyncio.sleep(max(0.0, SPACING - (time.perf_counter() - started)))
            finally:
                await adapter.stop()
            assert llm.count == 1 and not arxiv.requests, "the paper was not served from the cache"
            latencies = [fake.arrived[c] - fake.handed_out[c] for c in fake.handed_out if c in fake.arrived]
            return latencies, len(fake.sent), len(fake.chat_actions)


def run(quick: bool) -> list[Row]:
    """p50 and p99 of the /paper reply latency over 1,000 requests (200 in quick mode)."""
    requests = 200 if quick else 1_000
    latencies, replies, actions = asyncio.run(_measure(requests))
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    return [
        Row(
            NAME,
            f"{requests:,} requests, cached paper",
            "p50",
            fmt_seconds(p50),
            note=(
                f"{replies} replies and {actions} 'typing' actions for {requests} requests; distinct chats,"
                f" no pacing; {SPACING * 1e3:.0f} ms apart"
            ),
        ),
        Row(
            NAME,
            f"{requests:,} requests, cached paper",
            "p99",
            fmt_seconds(p99),
            target=f"< {TARGET_P99 * 1e3:.0f} ms",
            ok=p99 < TARGET_P99,
            note=f"max {fmt_seconds(max(latencies))}, mean {fmt_seconds(sum(latencies) / len(latencies))}",
        ),
    ]
