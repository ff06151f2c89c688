"""Telegram webhooks across replicas: real `arxiv-digest run` processes serving updates posted to them over HTTP."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from bot.redis_server import RedisServer, free_port
from bot.store import Store
from tests.bot_process import BotProcess
from tests.cli_runner import run_cli
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_server import FakeTelegram, fixture_fake_telegram, post_update  # noqa: F401
from tests.test_operator_mistakes import one_line
from tests.worker_processes import worker_env

WEBHOOK_URL = "https://bot.example.org/telegram/hook"
SECRET = "webhook-Secret_0123456789"
QUIET = 1.5  # seconds to wait for an answer that must not come (a second one to a chat is paced 1 s apart)


def _env(
    tmp_path: Path, redis_server: RedisServer, fake: FakeTelegram, arxiv: FakeArxiv, port: int, **extra: str
) -> dict[str, str]:
    """The environment of a `run` replica serving the webhook on 127.0.0.1:`port`."""
    webhook = {
        "TELEGRAM_WEBHOOK_URL": WEBHOOK_URL,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
        "TELEGRAM_WEBHOOK_PORT": str(port),
    }
    return worker_env(
        tmp_path, redis_server.url, fake, ARXIV_RSS_URL=arxiv.rss_url, ARXIV_API_URL=arxiv.api_url, **webhook | extra
    )


@asynccontextmanager
async def replicas(
    count: int, tmp_path: Path, redis_server: RedisServer, fake: FakeTelegram, arxiv: FakeArxiv
) -> AsyncIterator[list[str]]:
    """`count` `run` replicas on one Redis, serving the webhook; yields the URL each one serves it on."""
    ports = [free_port() for _ in range(count)]
    bots = [await BotProcess.start("run", _env(tmp_path, redis_server, fake, arxiv, port), tmp_path) for port in ports]
    try:
        for bot in bots:
            await bot.wait_for_line("serving webhook updates")
        yield [f"http://127.0.0.1:{port}/telegram/hook" for port in ports]
    finally:
        for bot in bots:
            assert await bot.stop() == 0, bot.log
            assert "Traceback" not in bot.log and SECRET not in bot.log, bot.log


async def test_updates_posted_round_robin_to_two_replicas_are_each_answered_once(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """Two replicas behind a round-robin balancer answer every update once, and neither polls nor takes the lease."""
    chats = list(range(501, 509))
    async with (
        replicas(2, tmp_path, redis_server, fake_telegram, arxiv) as urls,
        httpx.AsyncClient(trust_env=False, timeout=10) as client,
    ):
        for n, chat in enumerate(chats):
            update = fake_telegram.message_update(chat, "/help")
            assert (await post_update(client, urls[n % 2], update, SECRET)).status_code == 200
        for chat in chats:
            await fake_telegram.wait_for_sent_to(chat, timeout=20)
        await asyncio.sleep(QUIET)
        assert {chat: len(fake_telegram.sent_to(chat)) for chat in chats} == dict.fromkeys(chats, 1)
        assert fake_telegram.webhook is not None
        assert fake_telegram.webhook["url"] == WEBHOOK_URL and fake_telegram.webhook["secret_token"] == SECRET
        assert fake_telegram.calls("getUpdates") == []
        assert await store.redis_for_tests.keys("axd:poller:*") == []


async def test_an_update_posted_to_both_replicas_is_answered_once(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """Telegram's retries of one update, reaching both replicas at once and later again, get one answer."""
    async with (
        replicas(2, tmp_path, redis_server, fake_telegram, arxiv) as urls,
        httpx.AsyncClient(trust_env=False, timeout=10) as client,
    ):
        update = fake_telegram.message_update(610, "/help")
        answers = await asyncio.gather(*(post_update(client, url, update, SECRET) for url in urls * 2))
        assert [a.status_code for a in answers] == [200] * 4
        await fake_telegram.wait_for_sent_to(610, timeout=20)
        for url in urls:  # a retry after the answer went out
            assert (await post_update(client, url, update, SECRET)).status_code == 200
        await asyncio.sleep(QUIET)
        assert len(fake_telegram.sent_to(610)) == 1


async def test_a_request_without_the_right_secret_gets_403_and_no_answer(
    tmp_path: Path, store: Store, redis_server: RedisServer, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """A post with a wrong or missing X-Telegram-Bot-Api-Secret-Token is refused with 403 and never answered."""
    async with (
        replicas(1, tmp_path, redis_server, fake_telegram, arxiv) as [url],
        httpx.AsyncClient(trust_env=False, timeout=10) as client,
    ):
        forged = [fake_telegram.message_update(700 + n, "/help") for n in range(2)]
        assert (await post_update(client, url, forged[0], "not-the-secret")).status_code == 403
        assert (await post_update(client, url, forged[1], None)).status_code == 403
        genuine = fake_telegram.message_update(702, "/help")
        assert (await post_update(client, url, genuine, SECRET)).status_code == 200
        await fake_telegram.wait_for_sent_to(702, timeout=20)
        await asyncio.sleep(QUIET)
        assert fake_telegram.sent_to(700) == [] and fake_telegram.sent_to(701) == []


async def test_a_webhook_url_without_https_is_one_line(
    tmp_path: Path, redis_server: RedisServer, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """TELEGRAM_WEBHOOK_URL over plain HTTP (Telegram refuses it) is named in one line with a non-zero exit."""
    env = _env(tmp_path, redis_server, fake_telegram, arxiv, free_port(), TELEGRAM_WEBHOOK_URL="http://bot.example/h")
    line = one_line(await run_cli(["run"], env, tmp_path), SECRET)
    assert "TELEGRAM_WEBHOOK_URL" in line and "https://" in line
    assert fake_telegram.webhook is None


async def test_a_webhook_port_in_use_is_one_line(
    tmp_path: Path, redis_server: RedisServer, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """A TELEGRAM_WEBHOOK_PORT something else listens on is named in one line, with a non-zero exit."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = _env(tmp_path, redis_server, fake_telegram, arxiv, port)
        line = one_line(await run_cli(["run"], env, tmp_path), SECRET)
    assert f"cannot serve the Telegram webhook on 127.0.0.1:{port}" in line and "TELEGRAM_WEBHOOK_PORT" in line
