"""Discord's health follows the gateway: ready is healthy, a dropped or refused gateway is not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import discord
import pytest
import yarl

from bot.config import Secret
from bot.service import DigestService
from bot.store import Store
from handlers.commands import Commands
from handlers.discord_bot import DiscordAdapter
from tests.fakes.discord_server import DEFAULT_TOKEN, FakeDiscord, fixture_fake_discord  # noqa: F401

QUICK_IDENTIFY = 0.2  # seconds between IDENTIFYs (5 in production): the reconnections here need many turns


@pytest.fixture(name="gateway")
def fixture_gateway(fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> FakeDiscord:
    """The fake Discord with discord.py's REST base and gateway pointed at it."""
    monkeypatch.setattr(discord.http.Route, "BASE", fake_discord.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake_discord.gateway_url))
    return fake_discord


async def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait until `condition()` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_health_follows_the_gateway_connection(
    gateway: FakeDiscord, service: DigestService, store: Store
) -> None:
    """Connected once READY; not connected while the gateway is down although discord.py keeps retrying."""
    adapter = DiscordAdapter(Commands(service, store), store, Secret(DEFAULT_TOKEN), identify_every=QUICK_IDENTIFY)
    await adapter.start(gateway=True)
    try:
        await _until(adapter.connected)
        gateway.close_gateway_with = 4000  # every reconnection is closed again before READY
        await gateway.drop_gateway()
        await _until(lambda: not adapter.connected())
        await asyncio.sleep(1)
        assert not adapter.connected()
        gateway.close_gateway_with = None
        await _until(adapter.connected, timeout=30)
    finally:
        await adapter.stop()


async def test_missing_privileged_intent_is_one_clear_error_and_unhealthy(
    gateway: FakeDiscord, service: DigestService, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway closed with 4014 logs one ERROR naming the intent and the portal setting; health stays false."""
    gateway.close_gateway_with = 4014
    adapter = DiscordAdapter(
        Commands(service, store), store, Secret(DEFAULT_TOKEN), message_content=True, identify_every=QUICK_IDENTIFY
    )
    with caplog.at_level(logging.INFO):
        await adapter.start(gateway=True)
        try:
            await _until(lambda: len(gateway.identified) >= 2, timeout=10)  # it tried again, quietly
            assert not adapter.connected()
        finally:
            await adapter.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "Message Content Intent" in errors[0].getMessage() and "Developer Portal" in errors[0].getMessage()
    assert errors[0].exc_text is None and errors[0].exc_info is None
