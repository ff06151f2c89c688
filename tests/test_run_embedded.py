"""`arxiv-digest run` with no REDIS_URL: its own Redis keeps subscriptions across restarts; health is served."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.local_redis import stop_local_redis
from bot.redis_server import free_port, pid_alive, read_pid
from tests.cli_runner import ARXIV_DIGEST, base_env, run_cli
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401


@pytest.fixture(name="data_dir")
def fixture_data_dir(tmp_path: Path) -> Iterator[Path]:
    """The bot's DATA_DIR; its detached redis-server is stopped after the test."""
    data_dir = tmp_path / "data"
    yield data_dir
    stop_local_redis(data_dir)


async def _start(env: dict[str, str], cwd: Path, command: str = "run") -> asyncio.subprocess.Process:
    """Start `arxiv-digest run` (or `worker`) in its own process."""
    return await asyncio.create_subprocess_exec(
        ARXIV_DIGEST, command, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def _stop(proc: asyncio.subprocess.Process) -> str:
    """Stop the process with SIGTERM and return what it logged."""
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, (out + err).decode()
    return (out + err).decode()


async def test_subscription_survives_a_restart_with_the_bots_own_redis(
    tmp_path: Path, data_dir: Path, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """With no REDIS_URL the bot runs its own Redis under DATA_DIR; a subscription made before a restart is kept."""
    port = free_port()
    env = base_env(
        tmp_path,
        DATA_DIR=str(data_dir),
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=fake_telegram.base_url,
        ARXIV_RSS_URL=arxiv.rss_url,
        METRICS_PORT=str(port),
    )
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
    assert DEFAULT_TOKEN not in log
    stop_local_redis(data_dir)  # a restart of the whole machine: the data is on disk, the server is gone

    second = await _start(env, tmp_path)
    try:
        fake_telegram.user_sends(31, "/list")
        sent = await fake_telegram.wait_for_sent_to(31, 2, timeout=30)
        assert "1. cs.LG stat.ML" in sent[1]["text"]
    finally:
        await _stop(second)


async def test_own_redis_outlives_the_process_that_started_it(
    tmp_path: Path, data_dir: Path, fake_telegram: FakeTelegram
) -> None:
    """`run` starts the bot's own Redis, a `worker` uses it; after `run` exits the worker and `export` still work.

    When the server itself dies (systemd stopping the unit that started it kills it too), the worker starts it
    again on the same port.
    """
    data_dir.mkdir(mode=0o755)
    env = base_env(
        tmp_path, DATA_DIR=str(data_dir), TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN, TELEGRAM_API_URL=fake_telegram.base_url
    )
    first = await _start(env, tmp_path)
    fake_telegram.user_sends(31, "/subscribe cs.LG")
    await fake_telegram.wait_for_sent_to(31, 1, timeout=30)
    worker = await _start(env, tmp_path, "worker")
    try:
        await asyncio.sleep(2)
        await _stop(first)
        assert worker.returncode is None
        exported = await run_cli(["export"], env, tmp_path)
        assert exported.code == 0, exported.err
        assert "cs.LG" in exported.out

        pid = read_pid(data_dir / "redis.pid")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            revived = read_pid(data_dir / "redis.pid")
            if revived not in (None, pid) and pid_alive(revived):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the worker did not start the bot's own Redis again")
        assert worker.returncode is None
        exported = await run_cli(["export"], env, tmp_path)
        assert exported.code == 0 and "cs.LG" in exported.out, exported.err
    finally:
        log = await _stop(worker)
    assert "Traceback" not in log, log
    assert data_dir.stat().st_mode & 0o777 == 0o700
