"""Benchmark 3, delivery: messages per second through real TelegramAdapters against a rate-enforcing fake Bot API.

FakeTelegram(enforce_limits=True) answers 429 with retry_after whenever a send breaks Telegram's limits
(30 a second overall, 1 a second per private chat). Chats are served by a pool of concurrent delivery
tasks, each chat getting a few messages in a row (so the adapter's per-chat ChatPacer is exercised too),
with enough concurrency that the overall rate limiter is the bottleneck. With two adapters, each has its own
Redis connection pool, as two processes would, and they share the bot's limiter (bot/store/limiter.py)
through Redis. Everything is counted at the fake.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx

from bench.common import Row, open_store, redis_server
from bot.config import Secret, settings_from_mapping
from bot.runtime import build_service
from bot.store import Store
from handlers.commands import Commands
from handlers.replies import Reply, TextReply
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.telegram_server import DEFAULT_TOKEN, GLOBAL_PER_SECOND, FakeTelegram

NAME = "3 delivery"
CAP = float(GLOBAL_PER_SECOND)
TARGET_SHARE = 0.90  # the limiter keeps a 5% margin for arrival jitter (bot/store/limiter.py MARGIN)
WORKERS = 64
MESSAGES_PER_CHAT = 2
FIRST_CHAT = 500_000_000


@dataclass
class _Outcome:
    """What one delivery run produced, as counted at the fake."""

    messages: int
    seconds: float
    rate: float
    worst_window: float
    rejected: int
    violations: Counter[str]
    lost: int
    doubled: int
    retry_logs: int


class _CountRetries(logging.Handler):
    """Counts the flood-control and rate-limit log lines the bot writes."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        """Count lines about waiting out a RetryAfter."""
        text = record.getMessage()
        if "flood control" in text or "Rate limit hit" in text:
            self.count += 1


def _sliding_min(times: list[float], window: float) -> float:
    """The fewest messages in any `window`-second span between the first and last arrival, per second."""
    if len(times) < 2 or times[-1] - times[0] <= window:
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9) if len(times) > 1 else 0.0
    worst, j = float("inf"), 0
    for i, start in enumerate(times):
        if start + window > times[-1]:
            break
        while times[j] < start + window:
            j += 1
        worst = min(worst, (j - i) / window)
    return worst


async def _deliver(messages: int, adapters: int) -> _Outcome:
    """Send `messages` messages to distinct private chats, MESSAGES_PER_CHAT each, through `adapters` real adapters."""
    chats = [FIRST_CHAT + n for n in range(messages // MESSAGES_PER_CHAT)]
    counter = _CountRetries()
    logging.getLogger().addHandler(counter)
    try:
        with redis_server() as server:
            async with (
                open_store(server) as store,
                FakeTelegram(enforce_limits=True) as fake,
                httpx.AsyncClient(trust_env=False) as http,
                AsyncExitStack() as stack,
            ):
                service = build_service(settings_from_mapping({}), store, http)
                senders = []
                for _ in range(adapters):
                    own = Store.from_url(server.url)  # a connection pool of its own, as another process has
                    stack.push_async_callback(own.close)
                    adapter = TelegramAdapter(Commands(service, own), own, Secret(DEFAULT_TOKEN), fake.base_url)
                    await adapter.start(polling=False)
                    stack.push_async_callback(adapter.stop)
                    senders.append(adapter)
                queue: asyncio.Queue[int] = asyncio.Queue()
                for chat in chats:
                    queue.put_nowait(chat)

                async def worker(adapter: TelegramAdapter) -> None:
                    """Deliver to chats from the queue one after another, like a delivery worker's task."""
                    while not queue.empty():
                        chat = queue.get_nowait()
                        replies: list[Reply] = [TextReply(f"bench {chat} #{k}") for k in range(MESSAGES_PER_CHAT)]
                        await adapter.send(chat, replies)

                await asyncio.gather(*(worker(senders[n % adapters]) for n in range(WORKERS)))
                sent = fake.sent
                times = sorted(m["sent_at"] for m in sent)
                got = Counter((m["chat_id"], m["text"]) for m in sent)
                expected = {(chat, f"bench {chat} #{k}") for chat in chats for k in range(MESSAGES_PER_CHAT)}
                span = times[-1] - times[0]
                return _Outcome(
                    messages=len(sent),
                    seconds=span,
                    rate=(len(times) - 1) / span,
                    worst_window=_sliding_min(times, 10.0),
                    rejected=fake.rate_limited,
                    violations=Counter(v.kind for v in fake.limit_violations),
                    lost=sum(1 for key in expected if got[key] == 0),
                    doubled=sum(n - 1 for key, n in got.items() if n > 1) + sum(1 for k in got if k not in expected),
                    retry_logs=counter.count,
                )
    finally:
        logging.getLogger().removeHandler(counter)


def _rows(case: str, outcome: _Outcome) -> list[Row]:
    """The table rows of one run."""
    share = outcome.rate / CAP
    clean = outcome.rejected == 0 and outcome.lost == 0 and outcome.doubled == 0
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(outcome.violations.items())) or "none"
    return [
        Row(
            NAME,
            case,
            "sustained rate at the fake",
            f"{outcome.rate:.2f} msg/s ({share:.1%} of 30/s)",
            target=f"≥ {TARGET_SHARE:.0%} of 30/s",
            ok=share >= TARGET_SHARE,
            note=(
                f"{outcome.messages:,} messages in {outcome.seconds:.1f} s; slowest 10 s window"
                f" {outcome.worst_window:.2f} msg/s"
            ),
        ),
        Row(
            NAME,
            case,
            "429s / lost / doubled",
            f"{outcome.rejected} / {outcome.lost} / {outcome.doubled}",
            target="0 / 0 / 0",
            ok=clean,
            note=f"limit breaches seen by the fake: {kinds}; RetryAfter waits logged by the bot: {outcome.retry_logs}",
        ),
    ]


def run(quick: bool) -> list[Row]:
    """The shared limiter as shipped: one adapter, then two adapters (two processes' worth) sharing it."""
    rows: list[Row] = []
    for adapters, messages in ((1, 1_000 if quick else 10_000), (2, 1_000 if quick else 2_000)):
        outcome = asyncio.run(_deliver(messages, adapters))
        label = "1 adapter" if adapters == 1 else f"{adapters} adapters sharing Redis"
        rows += _rows(f"{messages:,} msgs, {label}", outcome)
    return rows
