"""Benchmark 3, delivery: messages per second through the real TelegramAdapter against a rate-enforcing fake Bot API.

FakeTelegram(enforce_limits=True) answers 429 with retry_after whenever a send breaks Telegram's limits
(30 a second overall, 1 a second per private chat). Chats are served by a pool of concurrent delivery
tasks, each chat getting a few messages in a row (so the adapter's per-chat ChatPacer is exercised too),
with enough concurrency that the overall rate limiter is the bottleneck. Everything is counted at the fake.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import httpx
from telegram.ext import AIORateLimiter

import handlers.telegram_bot as telegram_bot
from bench.common import Row, open_store, redis_server
from bot.config import Secret, settings_from_mapping
from bot.runtime import build_service
from handlers.commands import Commands
from handlers.replies import Reply, TextReply
from handlers.telegram_bot import TelegramAdapter
from tests.fakes.telegram_server import DEFAULT_TOKEN, GLOBAL_PER_SECOND, FakeTelegram

NAME = "3 delivery"
CAP = float(GLOBAL_PER_SECOND)
TARGET_SHARE = 0.95
WORKERS = 64
MESSAGES_PER_CHAT = 2
FIRST_CHAT = 500_000_000


class CountingTelegram(FakeTelegram):
    """FakeTelegram that also counts the 429 answers its limit enforcement gives."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rejected = 0

    def _check_limits(self, chat_id: int | str, now: float) -> None:
        """Count a 429 before passing it on."""
        try:
            super()._check_limits(chat_id, now)
        except Exception as exc:
            if getattr(exc, "status", None) == 429:
                self.rejected += 1
            raise


@dataclass(frozen=True)
class Limiter:
    """How the adapter's AIORateLimiter is built: as shipped, or as it was before the fix."""

    label: str
    factory: Callable[..., AIORateLimiter] | None  # None: the adapter's own construction


def _bursty_limiter(**kwargs: Any) -> AIORateLimiter:
    """python-telegram-bot's default style, AIORateLimiter(overall_max_rate=30): bursts of 30, then 30 a second."""
    return AIORateLimiter(overall_max_rate=30, max_retries=2)


AS_SHIPPED = Limiter("as shipped: one message every 1/(0.98 x 30) s", None)
BURSTY = Limiter("before the fix: AIORateLimiter(overall_max_rate=30)", _bursty_limiter)


@contextmanager
def _limiter(limiter: Limiter) -> Iterator[None]:
    """Build adapters with this limiter (handlers/ is not edited: its AIORateLimiter name is patched meanwhile)."""
    if limiter.factory is None:
        yield
        return
    with mock.patch.object(telegram_bot, "AIORateLimiter", limiter.factory):
        yield


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


async def _deliver(messages: int, limiter: Limiter) -> _Outcome:
    """Send `messages` messages to distinct private chats, MESSAGES_PER_CHAT each, through the real adapter."""
    chats = [FIRST_CHAT + n for n in range(messages // MESSAGES_PER_CHAT)]
    counter = _CountRetries()
    logging.getLogger().addHandler(counter)
    limiter_log = logging.getLogger("telegram.ext")
    level = limiter_log.level
    limiter_log.setLevel(logging.INFO)  # AIORateLimiter reports its RetryAfter waits at INFO
    try:
        with redis_server() as server:
            async with (
                open_store(server) as store,
                CountingTelegram(enforce_limits=True) as fake,
                httpx.AsyncClient(trust_env=False) as http,
            ):
                service = build_service(settings_from_mapping({}), store, http)
                with _limiter(limiter):
                    adapter = TelegramAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), fake.base_url)
                await adapter.start(polling=False)
                queue: asyncio.Queue[int] = asyncio.Queue()
                for chat in chats:
                    queue.put_nowait(chat)

                async def worker() -> None:
                    """Deliver to chats from the queue one after another, like a delivery worker's task."""
                    while not queue.empty():
                        chat = queue.get_nowait()
                        replies: list[Reply] = [TextReply(f"bench {chat} #{k}") for k in range(MESSAGES_PER_CHAT)]
                        await adapter.send(chat, replies)

                await asyncio.gather(*(worker() for _ in range(WORKERS)))
                await adapter.stop()
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
                    rejected=fake.rejected,
                    violations=Counter(v.kind for v in fake.limit_violations),
                    lost=sum(1 for key in expected if got[key] == 0),
                    doubled=sum(n - 1 for key, n in got.items() if n > 1) + sum(1 for k in got if k not in expected),
                    retry_logs=counter.count,
                )
    finally:
        logging.getLogger().removeHandler(counter)
        limiter_log.setLevel(level)


def _rows(case: str, outcome: _Outcome, with_target: bool) -> list[Row]:
    """The table rows of one run."""
    share = outcome.rate / CAP
    clean = outcome.rejected == 0 and outcome.lost == 0 and outcome.doubled == 0
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(outcome.violations.items())) or "none"
    return [
        Row(NAME, case, "sustained rate at the fake", f"{outcome.rate:.2f} msg/s ({share:.1%} of 30/s)",
            target="≥ 95% of 30/s" if with_target else "", ok=share >= TARGET_SHARE if with_target else None,
            note=(f"{outcome.messages:,} messages in {outcome.seconds:.1f} s; slowest 10 s window"
                  f" {outcome.worst_window:.2f} msg/s")),
        Row(NAME, case, "429s / lost / doubled", f"{outcome.rejected} / {outcome.lost} / {outcome.doubled}",
            target="0 / 0 / 0" if with_target else "", ok=clean if with_target else None,
            note=f"limit breaches seen by the fake: {kinds}; RetryAfter waits logged by the bot: {outcome.retry_logs}"),
    ]


def run(quick: bool) -> list[Row]:
    """The limiter the adapter had before the fix (a short run), then the adapter as shipped over the full count."""
    before_messages = 600 if quick else 1_500
    messages = 1_000 if quick else 10_000
    rows: list[Row] = []
    before = asyncio.run(_deliver(before_messages, BURSTY))
    rows += _rows(f"{before_messages:,} msgs, {BURSTY.label}", before, with_target=False)
    shipped = asyncio.run(_deliver(messages, AS_SHIPPED))
    rows += _rows(f"{messages:,} msgs, {AS_SHIPPED.label}", shipped, with_target=True)
    return rows
