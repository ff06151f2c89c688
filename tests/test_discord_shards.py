"""Discord shards: every shard connected, health following each, commands answered and digests sent on both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import discord
import httpx
import pytest
import yarl

from bot.config import Secret
from bot.delivery import SendResult
from bot.health import Health, start_health_server
from bot.models import Digest, DigestItem
from bot.redis_server import RedisServer, free_port
from bot.service import DigestService
from bot.store import Store
from bot.subscribers import ChatRef, Lang
from handlers.commands import Commands
from handlers.discord_bot import DiscordAdapter
from tests.cli_runner import base_env, run_cli
from tests.fakes.discord_server import DEFAULT_TOKEN, FakeDiscord, fixture_fake_discord  # noqa: F401
from tests.worker_processes import listing_of

GUILDS = {shard: (1_200_000_000 + shard) << 22 for shard in (0, 1)}  # a server owned by each of the two shards
CHANNELS = {shard: 6_100_000_000_000_000 + shard for shard in (0, 1)}  # a text channel in each of them
USER = 3_000_000_000_000_001

IDENTIFY_TEST_SECONDS = 1.0  # the adapter waits this long between IDENTIFYs (5 s in production)


@pytest.fixture(name="shards")
def fixture_shards(fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> FakeDiscord:
    """The two-shard fake Discord with the bot in one server per shard, discord.py's REST and gateway pointed at it."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake_discord.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake_discord.gateway_url))
    for shard, guild in GUILDS.items():
        assert fake_discord.shard_of(guild) == shard
        fake_discord.guilds.add(guild)
        fake_discord.server_channel(CHANNELS[shard], guild)
    return fake_discord


@asynccontextmanager
async def _running(store: Store, service: DigestService, **shards: object) -> AsyncIterator[DiscordAdapter]:
    """The real adapter with its gateway (as `run` starts it, IDENTIFY turns 1 s apart), stopped at the end."""
    adapter = DiscordAdapter(
        Commands(service, store),
        store,
        Secret(DEFAULT_TOKEN),
        identify_every=IDENTIFY_TEST_SECONDS,
        **shards,  # type: ignore[arg-type]
    )
    await adapter.start(gateway=True)
    try:
        yield adapter
    finally:
        await adapter.stop()


async def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until `condition()` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _healthz(port: int) -> tuple[int, bool]:
    """/healthz's status and its Discord check."""
    async with httpx.AsyncClient(trust_env=False) as client:
        answer = await client.get(f"http://127.0.0.1:{port}/healthz")
    return answer.status_code, answer.json()["adapter:discord"]


async def _ask_help(fake: FakeDiscord, shard: int) -> str:
    """A member of the server on `shard` types /help there; the text of the answer the bot gives."""
    payload = fake.slash("help", channel_id=CHANNELS[shard], user_id=USER, guild_id=GUILDS[shard])
    assert await fake.dispatch("INTERACTION_CREATE", payload) == shard
    [answer] = await fake.wait_for_answers(payload["token"], 1)
    return str(answer["content"]) + "".join(str(e.get("description", "")) for e in answer["embeds"])


async def test_one_process_runs_every_shard_discord_asks_for(
    shards: FakeDiscord, store: Store, service: DigestService
) -> None:
    """Unconfigured, the bot asks Discord for the shard count, connects both, and answers and delivers on each."""
    port = free_port()
    async with _running(store, service) as adapter, AsyncExitStack() as stack:
        runner = await start_health_server(Health(store, None, {"discord": adapter.connected}), "127.0.0.1", port)
        stack.push_async_callback(runner.cleanup)
        await _until(adapter.connected)
        assert ("GET", "/api/v10/gateway/bot") in shards.requests
        assert sorted(tuple(i["shard"]) for i in shards.identified) == [(0, 2), (1, 2)]
        assert await _healthz(port) == (200, True)
        for shard in (0, 1):
            assert "/subscribe" in await _ask_help(shards, shard)

        await shards.drop_gateway(4000, shard=1)  # one shard's connection drops; discord.py reconnects it
        await _until(lambda: not adapter.connected(), timeout=5)
        assert await _healthz(port) == (503, False)
        await _until(adapter.connected)
        assert await _healthz(port) == (200, True)

        listing = listing_of(2)
        digest = Digest(tuple(DigestItem(p) for p in listing.papers), listing.day)
        for shard in (0, 1):
            sent = await adapter.deliver(
                ChatRef("discord", str(CHANNELS[shard])), digest, Lang.EN, "header", skip=0, on_sent=_nothing
            )
            assert sent is SendResult.SENT and len(shards.sent_to(CHANNELS[shard])) >= 1


async def _nothing(number: int) -> None:
    """A delivery's record of a sent message, not needed here."""


async def test_two_processes_each_run_their_own_shard(
    shards: FakeDiscord, store: Store, service: DigestService, redis_server: RedisServer
) -> None:
    """Shard count 2 with ids 0 and 1 in two processes: each identifies in its turn and answers its own servers."""
    other = Store.from_url(redis_server.url)
    try:
        async with (
            _running(store, service, shard_count=2, shard_ids=(0,)) as first,
            _running(other, service, shard_count=2, shard_ids=(1,)) as second,
        ):
            await _until(lambda: first.connected() and second.connected())
            assert sorted(tuple(i["shard"]) for i in shards.identified) == [(0, 2), (1, 2)]
            started, then = shards.identified_at
            assert then - started >= 0.95 * IDENTIFY_TEST_SECONDS, "both started at once, not in their turns"
            assert ("GET", "/api/v10/gateway/bot") not in shards.requests  # the count was given
            for shard in (0, 1):
                assert "/subscribe" in await _ask_help(shards, shard)
            await shards.drop_gateway(4000, shard=1)
            await _until(lambda: not second.connected(), timeout=5)
            assert first.connected(), "the other process's shard is not this one's health"
            await _until(second.connected)
    finally:
        await other.close()


@pytest.mark.parametrize(
    ("count", "ids", "needle"),
    [
        ("2", "0,2", "DISCORD_SHARD_IDS lists 2, but with DISCORD_SHARD_COUNT=2 shards are numbered 0 to 1"),
        ("2", "0,one", "DISCORD_SHARD_IDS must list shard numbers"),
        ("two", "0", "DISCORD_SHARD_COUNT"),
        ("", "1", "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
    ],
)
async def test_bad_shard_settings_are_one_line_and_exit_2(tmp_path: Path, count: str, ids: str, needle: str) -> None:
    """`run` with shard settings that cannot work names them in one line on stderr and exits 2."""
    env = base_env(tmp_path, DISCORD_BOT_TOKEN=DEFAULT_TOKEN, DISCORD_SHARD_COUNT=count, DISCORD_SHARD_IDS=ids)
    run = await run_cli(["run"], env, tmp_path)
    assert run.code == 2 and run.out == ""
    assert run.err.strip().count("\n") == 0 and needle in run.err, run.err
    assert DEFAULT_TOKEN not in run.err
