"""Benchmark: Telegram updates answered by `arxiv-digest run` replicas serving python-telegram-bot's webhook.

A real redis-server, a fake Bot API and real `run` processes with TELEGRAM_WEBHOOK_URL set. The benchmark plays
Telegram: it posts `/list` updates from distinct private chats (each answer reads the chat's settings from Redis
and goes out as one sendMessage), CONCURRENCY at a time, and counts the answers at the fake. Measured: updates
answered a second, from the first post to the last answer. Two cases: one replica posted to directly, and two
replicas behind a round-robin proxy (bench/round_robin.py) with every update posted twice (as Telegram retries
an update whose answer it missed; round robin hands the copy to the other replica), where each update must be
answered exactly once. The replicas' CPU time per update is measured too: on a shared machine it says more than the
wall-clock rate. TELEGRAM_MAX_RATE is raised to Telegram's paid-broadcast 1,000/s so that the shared
send limit (30/s by default) does not hide what the webhook path can do.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import Row, fmt_seconds, open_store, redis_server
from bench.round_robin import RoundRobinProxy
from bot.redis_server import free_port
from tests.bot_process import BotProcess
from tests.fakes.telegram_server import FakeTelegram, post_update
from tests.worker_processes import worker_env

NAME = "webhook"
SECRET = "bench-webhook-secret"
PATH = "/telegram"
CONCURRENCY = 32  # posts in flight at once (Telegram's own default is up to 40 connections)
FIRST_CHAT = 10_000_000


def _env(redis_url: str, fake: FakeTelegram, home: str, port: int) -> dict[str, str]:
    """A replica serving the webhook on 127.0.0.1:`port`, the other settings as shipped."""
    webhook = {
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org" + PATH,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": str(port),
    }
    return worker_env(Path(home), redis_url, fake, TELEGRAM_MAX_RATE="1000", **webhook)


async def _post_all(url: str, updates: list[dict[str, object]], copies: int) -> list[int]:
    """Post every update `copies` times, CONCURRENCY posts at a time; the statuses answered."""
    queue = [update for update in updates for _ in range(copies)]
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(trust_env=False, timeout=30, limits=limits) as client:

        async def poster(start: int) -> None:
            """Post every CONCURRENCY-th update from `start`."""
            for update in queue[start::CONCURRENCY]:
                statuses.append((await post_update(client, url, update, SECRET)).status_code)

        await asyncio.gather(*(poster(n) for n in range(CONCURRENCY)))
    return statuses


def _cpu_seconds(pid: int) -> float:
    """The user and system CPU seconds a process used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Outcome:
    """What one case measured."""

    rate: float  # updates answered a second, wall clock
    cpu: float  # the replicas' CPU seconds in all while answering
    answers: Counter[int]  # answers per chat, counted at the fake
    statuses: Counter[int]  # HTTP statuses the webhook posts got


async def _measure(replicas: int, updates_count: int) -> Outcome:
    """Run one case: post the updates, wait for every answer, count them."""
    copies = 2 if replicas > 1 else 1
    with redis_server() as server, tempfile.TemporaryDirectory() as home:
        async with open_store(server), FakeTelegram() as fake:
            ports = [free_port() for _ in range(replicas)]
            bots = [await BotProcess.start("run", _env(server.url, fake, home, port), Path(home)) for port in ports]
            proxy: RoundRobinProxy | None = None
            try:
                for bot in bots:
                    await bot.wait_for_line("serving webhook updates", timeout=60)
                url = f"http://127.0.0.1:{ports[0]}{PATH}"
                if replicas > 1:
                    proxy = await RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports]).start()
                    url = proxy.root_url + PATH
                updates = [fake.message_update(FIRST_CHAT + n, "/list") for n in range(updates_count)]
                cpu_before = sum(_cpu_seconds(bot.proc.pid) for bot in bots)
                began = time.perf_counter()
                statuses = Counter(await _post_all(url, updates, copies))
                await fake.wait_for_sent(updates_count, timeout=300)
                elapsed = time.perf_counter() - began
                cpu = sum(_cpu_seconds(bot.proc.pid) for bot in bots) - cpu_before
                await asyncio.sleep(2)  # any second answer would arrive by now
            finally:
                if proxy is not None:
                    await proxy.close()
                for bot in bots:
                    await bot.stop()
            answers = Counter(int(m["chat_id"]) for m in fake.sent)
            return Outcome(updates_count / elapsed, cpu, answers, statuses)


def _rows(replicas: int, updates_count: int) -> list[Row]:
    """The table rows of one case."""
    outcome = asyncio.run(_measure(replicas, updates_count))
    answers = outcome.answers
    case = "1 replica, direct" if replicas == 1 else f"{replicas} replicas behind round robin, each update posted twice"
    once = len(answers) == updates_count and set(answers.values()) == {1}
    return [
        Row(
            NAME,
            case,
            "updates answered/s",
            f"{outcome.rate:.0f}",
            note=f"{updates_count:,} /list updates, HTTP {dict(outcome.statuses)}",
        ),
        Row(
            NAME,
            case,
            "replica CPU per update",
            fmt_seconds(outcome.cpu / updates_count),
            note=f"about {updates_count / outcome.cpu:.0f} updates/s per busy core",
        ),
        Row(
            NAME,
            case,
            "chats answered once / twice / never",
            f"{sum(1 for n in answers.values() if n == 1):,} / {sum(1 for n in answers.values() if n > 1):,} / "
            f"{updates_count - len(answers):,}",
            target=f"{updates_count:,} / 0 / 0",
            ok=once,
        ),
    ]


def run(quick: bool) -> list[Row]:
    """One replica, then two behind a round-robin proxy."""
    updates_count = 300 if quick else 2_000
    return _rows(1, updates_count) + _rows(2, updates_count)
