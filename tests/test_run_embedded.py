"""`arxiv-digest run` with no REDIS_URL: its own Redis keeps subscriptions across restarts; health is served."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from bot.redis_server import free_port
from tests.cli_runner import ARXIV_DIGEST, base_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401


async def _start(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """Start `arxiv-digest run` in its own process."""
    return await asyncio.create_subprocess_exec(
        ARXIV_DIGEST, "run", cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def _stop(proc: asyncio.subprocess.Process) -> str:
    """Stop the process with SIGTERM and return what it logged."""
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, (out + err).decode()
    return (out + err).decode()


async def test_subscription_survives_a_restart_with_the_bots_own_redis(
    tmp_path: Path, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """With no REDIS_URL the bot runs its own Redis under DATA_DIR; a subscription made before a restart is kept."""
    port = free_port()
    env = base_env(tmp_path, DATA_DIR=str(tmp_path / "data"), TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
                   TELEGRAM_API_URL=fake_telegram.base_url, ARXIV_RSS_URL=arxiv.rss_url, METRICS_PORT=str(port))
    first = await _start(env, tmp_path)
    try:
        fake_telegram.user_sends(31, "/subscribe cs.LG stat.ML")
        await fake_telegram.wait_for_sent_to(31, 1, timeout=30)
        async with httpx.AsyncClient(trust_env=False) as client:
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 200, health.text
        assert health.json()["redis"] and health.json()["adapter:telegram"]
    finally:
        log = await _stop(first)
    assert str(tmp_path / "data" / "redis") in log, "says in one line where the data lives"
    assert not (tmp_path / "data" / "redis.port").exists(), "its redis-server stopped with it"
    assert DEFAULT_TOKEN not in log

    second = await _start(env, tmp_path)
    try:
        fake_telegram.user_sends(31, "/list")
        sent = await fake_telegram.wait_for_sent_to(31, 2, timeout=30)
        assert "1. cs.LG stat.ML" in sent[1]["text"]
    finally:
        await _stop(second)
