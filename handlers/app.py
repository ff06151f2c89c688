"""Start the chat adapters whose tokens are set (or the terminal chat) and run until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.runtime import Runtime
from handlers.commands import Commands
from handlers.console import run_console
from handlers.telegram_bot import TelegramAdapter

log = logging.getLogger(__name__)
NO_TOKEN = (
    "no chat platform configured: set TELEGRAM_BOT_TOKEN (or DISCORD_BOT_TOKEN), "
    "or try the bot in this terminal with `arxiv-digest chat`"
)


def stop_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, for a clean shutdown."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)
    return event


async def run_adapters(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """Run every adapter whose token is set until `stop` (or a signal) says to finish."""
    settings = runtime.settings
    commands = Commands(runtime.service, runtime.store)
    adapters = []
    if settings.telegram_bot_token:
        adapters.append(TelegramAdapter(commands, runtime.store, settings.telegram_bot_token,
                                        settings.telegram_api_url))
    stop = stop or stop_event()
    for adapter in adapters:
        await adapter.start()
    log.info("running %d chat adapter(s); stop with Ctrl-C", len(adapters))
    try:
        await stop.wait()
    finally:
        for adapter in adapters:
            await adapter.stop()
        log.info("stopped")


async def run_chat(runtime: Runtime) -> None:
    """The terminal chat."""
    await run_console(Commands(runtime.service, runtime.store))
