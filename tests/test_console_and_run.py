"""The terminal chat and `arxiv-digest run`, as real subprocesses."""

from __future__ import annotations

import asyncio
import io
import signal
from pathlib import Path

from bot.redis_server import RedisServer
from bot.service import DigestService
from bot.store import Store
from handlers.commands import Commands
from handlers.console import run_console
from tests.cli_runner import ARXIV_DIGEST, base_env, fakes_env, run_cli
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import FakeLLM
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401


async def test_console_answers_each_line(service: DigestService, store: Store) -> None:
    """Lines typed in the terminal chat are answered in order, in plain text."""
    stdin = io.StringIO("/subscribe cs.LG stat.ML\n\n/list\n/paper 2402.03478\n/bogus\n")
    stdout = io.StringIO()
    await run_console(Commands(service, store), stdin, stdout)
    out = stdout.getvalue()
    assert out.index("subscribed") < out.index("1. cs.LG stat.ML") < out.index("中文：") < out.index("/help")
    assert "<" not in out


async def test_chat_command_works_without_any_token(
    tmp_path: Path, redis_server: RedisServer, arxiv: FakeArxiv, fake_llm: FakeLLM
) -> None:
    """`arxiv-digest chat` needs no token: piped commands get their answers on standard output."""
    env = fakes_env(tmp_path, redis_server.url, arxiv, fake_llm)
    run = await run_cli(["chat"], env, tmp_path, stdin="/subscribe cs.LG stat.ML saliency\n/digest\n")
    assert run.code == 0, run.err
    assert "subscribed" in run.out and "中文：Gradient-based Saliency Maps" in run.out


async def test_run_without_token_points_to_chat(tmp_path: Path) -> None:
    """`arxiv-digest run` with no token says so in one line, names `arxiv-digest chat`, and exits non-zero."""
    run = await run_cli(["run"], base_env(tmp_path), tmp_path)
    assert run.code == 1
    assert "arxiv-digest chat" in run.err and len(run.err.strip().splitlines()) == 1


async def test_run_serves_telegram_until_sigterm(
    tmp_path: Path, redis_server: RedisServer, arxiv: FakeArxiv, fake_telegram: FakeTelegram
) -> None:
    """`arxiv-digest run` answers Telegram users, stops cleanly on SIGTERM, and never logs its token."""
    env = base_env(
        tmp_path,
        REDIS_URL=redis_server.url,
        ARXIV_RSS_URL=arxiv.rss_url,
        ARXIV_API_URL=arxiv.api_url,
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_API_URL=fake_telegram.base_url,
        LOG_LEVEL="DEBUG",
    )
    proc = await asyncio.create_subprocess_exec(
        ARXIV_DIGEST,
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        fake_telegram.user_sends(77, "/subscribe cs.LG")
        [reply] = await fake_telegram.wait_for_sent_to(77, 1, timeout=30)
        assert "subscribed" in reply["text"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    log = (out + err).decode()
    assert proc.returncode == 0, log
    assert "translations are off" in log
    assert DEFAULT_TOKEN not in log and DEFAULT_TOKEN.split(":")[1] not in log
