"""One poller per Telegram token: a second `run` stands by and takes over; a 409 Conflict makes /healthz fail."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx

from bot.redis_server import RedisServer, free_port
from bot.store import Store
from tests.bot_process import BotProcess
from tests.cli_runner import base_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401


def _env(
    tmp_path: Path, redis_server: RedisServer, fake: FakeTelegram, arxiv: FakeArxiv, **extra: str
) -> dict[str, str]:
    """The environment of a `run` process on the test's Redis, fake Telegram and fake arXiv."""
    return base_env(
        tmp_path,
        REDIS_URL=redis_server.url,
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=fake.base_url,
        ARXIV_RSS_URL=arxiv.rss_url,
        ARXIV_API_URL=arxiv.api_url,
        **extra,
    )


async def test_a_second_run_stands_by_and_takes_over_when_the_first_dies(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """Two `run` on one token: each command is answered once; after SIGKILL of the first, the second polls."""
    env = _env(tmp_path, redis_server, fake_telegram, arxiv)
    first = await BotProcess.start("run", env, tmp_path)
    second: BotProcess | None = None
    try:
        await first.wait_for_line("polling for updates")
        second = await BotProcess.start("run", env, tmp_path)
        await second.wait_for_line("standing by as a hot spare")
        for n in range(3):
            fake_telegram.user_sends(41, "/help")
            await fake_telegram.wait_for_sent_to(41, n + 1, timeout=20)
        await asyncio.sleep(2)  # a second answer would have come by now
        assert len(fake_telegram.sent_to(41)) == 3

        await first.kill()
        await second.wait_for_line("taking over", timeout=35)
        fake_telegram.user_sends(41, "/help")
        await fake_telegram.wait_for_sent_to(41, 4, timeout=20)
        await asyncio.sleep(2)
        assert len(fake_telegram.sent_to(41)) == 4
        assert second.count("409") == 0, second.log
    finally:
        await first.kill()
        if second is not None:
            assert await second.stop() == 0, second.log


async def test_a_409_conflict_marks_telegram_unhealthy_with_one_line(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """Another poller outside our Redis (409 Conflict): /healthz is 503, one log line says why, and it recovers."""
    port = free_port()
    bot = await BotProcess.start(
        "run", _env(tmp_path, redis_server, fake_telegram, arxiv, METRICS_PORT=str(port)), tmp_path
    )
    stranger_polls = asyncio.Event()
    stranger_polls.set()

    async def stranger() -> None:
        """A poller elsewhere using the same token."""
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            while stranger_polls.is_set():
                await client.post(f"{fake_telegram.base_url}{DEFAULT_TOKEN}/getUpdates", data={"timeout": "1"})

    async def healthz() -> tuple[int, dict[str, bool]]:
        """The bot's /healthz status and checks."""
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz")
        return response.status_code, response.json()

    try:
        await bot.wait_for_line("polling for updates")
        task = asyncio.create_task(stranger())
        await bot.wait_for_line("409 Conflict", timeout=30)
        status, checks = await healthz()
        assert status == 503 and checks["adapter:telegram"] is False
        await asyncio.sleep(5)
        stranger_polls.clear()
        with contextlib.suppress(httpx.HTTPError):
            await task
        await bot.wait_for_line("polling works again", timeout=45)
        status, checks = await healthz()
        assert status == 200, checks
    finally:
        assert await bot.stop() == 0, bot.log
    assert fake_telegram.conflicts > 1
    assert bot.count("409 Conflict") == 1, bot.log
    assert "Traceback" not in bot.log, bot.log
