"""Start the chat adapters whose tokens are set, the scheduler and the delivery workers, and run until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Mapping
from contextlib import AsyncExitStack

from bot.calendar import ArxivCalendar
from bot.delivery import DeliveryWorker, Sender, SendResult
from bot.engine import DailyEngine
from bot.health import Health, start_health_server
from bot.runtime import Runtime
from bot.schedule import Scheduler, process_name
from bot.store import Store
from bot.store.delivery import DeliveryState
from bot.subscribers import ChatRef
from handlers.commands import Broadcaster, Commands
from handlers.console import run_console
from handlers.discord_bot import DiscordAdapter
from handlers.telegram_bot import TelegramAdapter

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()  # broadcasts under way (kept so they are not garbage-collected)
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


def build_commands(runtime: Runtime) -> Commands:
    """The chat commands, with this deployment's administrators."""
    return Commands(runtime.service, runtime.store, admin_ids=runtime.settings.admin_ids)


def broadcaster(store: Store, senders: Mapping[str, Sender]) -> Broadcaster:
    """Send a text to every subscribed chat in the background; returns how many chats it will try."""

    async def send_all(text: str, chats: list[ChatRef]) -> None:
        sent = 0
        for chat in chats:
            sender = senders.get(chat.platform)
            if sender is not None and await sender.send_text(chat, text) is SendResult.SENT:
                sent += 1
        log.info("broadcast sent to %d of %d chats", sent, len(chats))

    async def broadcast(text: str) -> int:
        chats = [c for c in await store.subscriber_chats() if c.platform in senders]
        task = asyncio.create_task(send_all(text, chats))
        _background.add(task)
        task.add_done_callback(_background.discard)
        return len(chats)

    return broadcast


async def start_senders(
    runtime: Runtime, stack: AsyncExitStack, commands: Commands, polling: bool
) -> dict[str, Sender]:
    """Start the adapter of every platform whose token is set; with polling they also answer users."""
    settings = runtime.settings
    senders: dict[str, Sender] = {}
    if settings.telegram_bot_token:
        telegram = TelegramAdapter(commands, runtime.store, settings.telegram_bot_token, settings.telegram_api_url,
                                   max_rate=settings.telegram_max_rate)
        await telegram.start(polling=polling)
        stack.push_async_callback(telegram.stop)
        senders["telegram"] = telegram
    if settings.discord_bot_token:
        discord = DiscordAdapter(commands, runtime.store, settings.discord_bot_token,
                                 guild_id=settings.discord_guild_id,
                                 message_content=settings.discord_message_content)
        await discord.start(gateway=polling)
        stack.push_async_callback(discord.stop)
        senders["discord"] = discord
    return senders


def build_worker(runtime: Runtime, senders: dict[str, Sender]) -> DeliveryWorker:
    """A delivery worker sending through these adapters."""
    settings = runtime.settings
    return DeliveryWorker(
        store=runtime.store, state=DeliveryState(runtime.store.redis), service=runtime.service, senders=senders,
        consumer=process_name(), claim_idle_ms=int(settings.delivery_claim_idle * 1000),
        max_attempts=settings.delivery_max_attempts,
    )


async def run_bot(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """The whole bot: adapters answering users, the daily scheduler (one across processes) and a worker."""
    stop = stop or stop_event()
    state = DeliveryState(runtime.store.redis)
    calendar = ArxivCalendar(holidays=runtime.settings.arxiv_holidays)
    commands = build_commands(runtime)
    async with AsyncExitStack() as stack:
        senders = await start_senders(runtime, stack, commands, polling=True)
        commands.broadcaster = broadcaster(runtime.store, senders)
        engine = DailyEngine(runtime.service, runtime.store, state, calendar, platforms=frozenset(senders))
        scheduler = Scheduler(engine, state)
        scheduler.start()
        stack.push_async_callback(scheduler.stop)
        await start_health(runtime, stack, scheduler, senders)
        log.info("running with %s; stop with Ctrl-C", ", ".join(senders) or "no chat platform")
        await build_worker(runtime, senders).run(stop)
    log.info("stopped")


async def start_health(
    runtime: Runtime, stack: AsyncExitStack, scheduler: Scheduler | None, senders: Mapping[str, Sender]
) -> None:
    """Serve /healthz and /metrics when METRICS_PORT is set."""
    settings = runtime.settings
    if settings.metrics_port is None:
        return
    health = Health(runtime.store, scheduler, {name: sender.connected for name, sender in senders.items()})
    runner = await start_health_server(health, settings.metrics_host, settings.metrics_port)
    stack.push_async_callback(runner.cleanup)
    log.info("health and metrics on http://%s:%d/healthz and /metrics", settings.metrics_host,
             settings.metrics_port)


async def run_worker(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """A delivery worker only: sends queued digests, answers no users and schedules nothing."""
    stop = stop or stop_event()
    async with AsyncExitStack() as stack:
        senders = await start_senders(runtime, stack, build_commands(runtime), polling=False)
        await start_health(runtime, stack, None, senders)
        await build_worker(runtime, senders).run(stop)


async def run_chat(runtime: Runtime) -> None:
    """The terminal chat."""
    await run_console(build_commands(runtime))
