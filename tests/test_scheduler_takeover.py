"""Scheduling survives a SIGKILL: another `arxiv-digest run` process takes the scheduler lock within 30 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.redis_server import RedisServer
from bot.store import Store
from bot.store.keys import SCHEDULER_LOCK_KEY
from tests.cli_runner import ARXIV_DIGEST, base_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_server import FakeTelegram

TOKENS = ("111111:first-bot-token", "222222:second-bot-token")  # one bot each, so the two never share a poller
TAKEOVER_SECONDS = 30.0


@pytest.fixture(name="two_telegrams")
async def fixture_two_telegrams() -> AsyncIterator[tuple[FakeTelegram, FakeTelegram]]:
    """Two fake Telegram servers, one per bot token."""
    async with FakeTelegram(TOKENS[0]) as first, FakeTelegram(TOKENS[1]) as second:
        yield first, second


async def _start_run(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    """Start `arxiv-digest run` with its log in a file."""
    with log.open("wb") as err:
        return await asyncio.create_subprocess_exec(
            ARXIV_DIGEST,
            "run",
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )


async def _holder_pid(store: Store, timeout: float) -> int | None:
    """The pid of the process holding the scheduler lock, waiting up to `timeout` for one to hold it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = await store.redis_for_tests.get(SCHEDULER_LOCK_KEY)
        if holder is not None:
            return int(str(holder).rsplit("-", 1)[1])
        await asyncio.sleep(0.2)
    return None


async def test_a_killed_scheduler_is_replaced_within_30_seconds(
    tmp_path: Path,
    store: Store,
    redis_server: RedisServer,
    arxiv: FakeArxiv,
    two_telegrams: tuple[FakeTelegram, FakeTelegram],
) -> None:
    """Two `run` processes share one Redis; after SIGKILL of the lock holder the other holds the lock within 30 s."""
    procs = []
    try:
        for n, fake in enumerate(two_telegrams):
            env = base_env(
                tmp_path,
                REDIS_URL=redis_server.url,
                ARXIV_RSS_URL=arxiv.rss_url,
                ARXIV_API_URL=arxiv.api_url,
                TELEGRAM_BOT_TOKEN=TOKENS[n],
                TELEGRAM_API_URL=fake.base_url,
            )
            procs.append(await _start_run(env, tmp_path, tmp_path / f"run{n}.log"))
            if n == 0:
                assert await _holder_pid(store, 30) == procs[0].pid, (tmp_path / "run0.log").read_text()
        first, second = procs
        await asyncio.sleep(1)
        assert await _holder_pid(store, 1) == first.pid, "the lock stays with its live holder"
        first.kill()
        await first.wait()
        killed = time.monotonic()
        while await _holder_pid(store, 1) != second.pid and time.monotonic() - killed < TAKEOVER_SECONDS:
            await asyncio.sleep(0.2)
        took = time.monotonic() - killed
        assert await _holder_pid(store, 1) == second.pid, (tmp_path / "run1.log").read_text()
        assert took < TAKEOVER_SECONDS
        assert second.returncode is None
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
