"""What an operator sees after a mistake: one line on standard error, a non-zero exit, and never a secret."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import threading
from pathlib import Path

import discord
import pytest

from bot.categories import ALL_ARCHIVES
from bot.config import Secret, settings_from_mapping
from bot.logs import RedactSecrets, configure_logging, install_exception_hooks
from bot.redis_server import RedisServer, free_port
from bot.service import DigestService
from bot.store import Store
from handlers.commands import Commands
from handlers.discord_bot import DiscordAdapter
from handlers.startup import StartupError, start_discord
from tests.cli_runner import ARXIV_DIGEST, Run, base_env, fakes_env, run_cli
from tests.fakes.arxiv_server import FakeArxiv, fixture_bytes
from tests.fakes.discord_server import DEFAULT_TOKEN as DISCORD_TOKEN
from tests.fakes.discord_server import FakeDiscord, fixture_fake_discord  # noqa: F401
from tests.fakes.llm_server import Behaviour, FakeLLM
from tests.fakes.telegram_server import FakeTelegram, fixture_fake_telegram  # noqa: F401

TOKEN = "987654321:AAHsecretSECRETsecretSECRETsecret42"
TOKEN_SECRET = TOKEN.split(":")[1]


def one_line(run: Run, *secrets: str) -> str:
    """The single line a failed command printed, after checking it exited non-zero and printed no secret."""
    assert run.code != 0, run
    for secret in (TOKEN, TOKEN_SECRET, *secrets):
        assert secret not in run.err + run.out
    lines = [line for line in run.err.splitlines() if "translations are off" not in line and " INFO " not in line]
    assert len(lines) == 1 and "Traceback" not in run.err, run.err
    return lines[0]


async def test_a_token_telegram_rejects_is_one_line_without_the_token(
    tmp_path: Path, redis_server: RedisServer, fake_telegram: FakeTelegram
) -> None:
    """`run` with a wrong TELEGRAM_BOT_TOKEN names the setting to fix, exits 1, and never prints the token."""
    env = base_env(
        tmp_path, REDIS_URL=redis_server.url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=fake_telegram.base_url
    )
    line = one_line(await run_cli(["run"], env, tmp_path))
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in line and "@BotFather" in line


async def test_an_unreachable_telegram_is_one_line(tmp_path: Path, redis_server: RedisServer) -> None:
    """`run` when Telegram cannot be reached says so in one line, naming the host, without the token."""
    port = free_port()  # nothing listens there
    env = base_env(
        tmp_path, REDIS_URL=redis_server.url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot"
    )
    line = one_line(await run_cli(["run"], env, tmp_path))
    assert f"cannot reach Telegram at 127.0.0.1:{port}" in line


async def test_a_data_directory_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """A DATA_DIR that cannot be created is named in one line with what to set instead."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = base_env(tmp_path, DATA_DIR=str(blocker / "data"), TELEGRAM_BOT_TOKEN=TOKEN)
    line = one_line(await run_cli(["run"], env, tmp_path))
    assert f"cannot use the data directory {blocker / 'data'}" in line and "DATA_DIR" in line


@pytest.mark.parametrize("url", ["redis://:hunter2hunter2@127.0.0.1:99999/0", "redis://127.0.0.1:port/0"])
async def test_a_redis_url_with_a_bad_port_is_one_line(tmp_path: Path, url: str) -> None:
    """A REDIS_URL whose port is out of range or not a number is named in one line, without its password."""
    line = one_line(await run_cli(["export"], base_env(tmp_path, REDIS_URL=url), tmp_path), "hunter2hunter2")
    assert "REDIS_URL has a bad port" in line


async def test_several_bad_settings_are_one_line_naming_each(tmp_path: Path) -> None:
    """Malformed settings are all named on one line, with exit 2, and the token beside them is never printed."""
    env = base_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, LOG_LEVEL="LOUD", DELIVERY_CONCURRENCY="lots")
    line = one_line(await run_cli(["export"], env, tmp_path))
    assert "LOG_LEVEL" in line and "DELIVERY_CONCURRENCY" in line


async def test_a_bad_discord_token_is_one_line_and_closes_the_session(
    fake_discord: FakeDiscord,
    service: DigestService,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """A DISCORD_BOT_TOKEN Discord rejects names the setting and the portal, and leaves no unclosed session."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake_discord.api_base)
    settings = settings_from_mapping({"DISCORD_BOT_TOKEN": DISCORD_TOKEN + "x"})
    adapter = DiscordAdapter(Commands(service, store), store, Secret(DISCORD_TOKEN + "x"))
    with pytest.raises(StartupError) as caught:
        await start_discord(adapter, settings, gateway=True)
    assert "Discord rejected DISCORD_BOT_TOKEN" in str(caught.value) and "Developer Portal" in str(caught.value)
    assert DISCORD_TOKEN not in str(caught.value) and adapter.client.is_closed()
    del adapter
    gc.collect()
    assert "Unclosed" not in capfd.readouterr().err


async def test_an_unreachable_discord_is_one_line(
    service: DigestService, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When Discord cannot be reached the start-up error says so instead of a traceback."""
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{free_port()}/api/v10")
    settings = settings_from_mapping({"DISCORD_BOT_TOKEN": DISCORD_TOKEN})
    adapter = DiscordAdapter(Commands(service, store), store, Secret(DISCORD_TOKEN))
    with pytest.raises(StartupError, match="cannot reach Discord"):
        await start_discord(adapter, settings, gateway=False)
    assert adapter.client.is_closed()


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_uncaught_exceptions_never_print_a_secret(level: str, capsys: pytest.CaptureFixture[str]) -> None:
    """An exception nobody catches, in a thread or the main program, prints masked; DEBUG adds its traceback."""
    redact = RedactSecrets([TOKEN, TOKEN_SECRET])
    hooks = (sys.excepthook, sys.unraisablehook, threading.excepthook)
    install_exception_hooks(redact, debug=level == "DEBUG")
    try:
        thread = threading.Thread(target=lambda: (_ for _ in ()).throw(RuntimeError(f"POST /bot{TOKEN}/getMe")))
        thread.start()
        thread.join()
        try:
            raise ValueError(f"token {TOKEN_SECRET} refused")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook, sys.unraisablehook, threading.excepthook = hooks
    err = capsys.readouterr().err
    assert TOKEN_SECRET not in err and "unexpected RuntimeError" in err and "unexpected ValueError" in err
    assert ("Traceback" in err) is (level == "DEBUG")


async def test_version_and_a_closed_pipe(tmp_path: Path, redis_server: RedisServer) -> None:
    """`--version` prints the version; `chat | head -n 1` ends quietly, without a BrokenPipeError traceback."""
    version = await run_cli(["--version"], base_env(tmp_path), tmp_path)
    assert version.code == 0 and version.out.startswith("arxiv-digest 0.")
    env = base_env(tmp_path, REDIS_URL=redis_server.url)
    commands = "/help\n" * 400  # far more than a pipe holds
    piped = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", f"{ARXIV_DIGEST} chat | head -n 1"],
        input=commands,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 0 and piped.stdout.strip() and piped.stderr == "", piped.stderr


async def test_digest_with_a_category_typo_is_one_line(tmp_path: Path) -> None:
    """`digest --categories stats.ML` suggests stat.ML in one line instead of a ValueError traceback."""
    line = one_line(await run_cli(["digest", "--categories", "stats.ML"], base_env(tmp_path), tmp_path))
    assert "unknown arXiv category 'stats.ML'; did you mean stat.ML?" in line


async def test_digest_with_keywords_only_searches_all_of_arxiv(
    tmp_path: Path, redis_server: RedisServer, arxiv: FakeArxiv
) -> None:
    """`digest --keywords saliency` without --categories reads every archive's feed and keeps the matches."""
    arxiv.rss_feeds["+".join(ALL_ARCHIVES)] = fixture_bytes("rss_cs.LG+stat.ML.xml")
    env = base_env(tmp_path, REDIS_URL=redis_server.url, ARXIV_RSS_URL=arxiv.rss_url, ARXIV_API_URL=arxiv.api_url)
    run = await run_cli(["digest", "--keywords", "saliency"], env, tmp_path)
    assert run.code == 0, run.err
    assert "Gradient-based Saliency Maps" in run.out


async def test_a_wrong_llm_key_is_one_summary_line_and_fails_the_run(
    tmp_path: Path, redis_server: RedisServer, arxiv: FakeArxiv, fake_llm: FakeLLM
) -> None:
    """A key the LLM rejects is reported once for all papers, and `digest` exits non-zero."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    fake_llm.script_for("", Behaviour(status=401))
    env = fakes_env(tmp_path, redis_server.url, arxiv, fake_llm, LLM_API_KEY="sk-wrong-key-123")
    run = await run_cli(["digest", "--categories", "cs.LG,stat.ML"], env, tmp_path)
    assert run.code == 1 and "sk-wrong-key-123" not in run.err
    about_the_key = [line for line in run.err.splitlines() if "API key" in line]
    assert about_the_key == [
        "arxiv-digest: the LLM server rejected the API key (HTTP 401): translations failed for 3 papers"
    ], run.err
    assert "# 摘要" in run.out, "the English digest is still printed"


@pytest.mark.parametrize(("level", "heard"), [("INFO", False), ("DEBUG", True)])
async def test_the_scheduler_s_routine_is_not_logged_by_default(
    level: str, heard: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """APScheduler's "Running job…" lines for every tick appear only at LOG_LEVEL=DEBUG."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging(settings_from_mapping({"LOG_LEVEL": level}))
    try:
        scheduler = AsyncIOScheduler()
        scheduler.add_job(lambda: None, "interval", seconds=0.05)
        scheduler.start()
        await asyncio.sleep(0.3)
        scheduler.shutdown(wait=False)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert ("Running job" in capsys.readouterr().err) is heard
