"""Start the chat adapters whose tokens are set, the scheduler and the delivery workers, and run until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack

from bot.calendar import ArxivCalendar
from bot.delivery import DeliveryWorker, Sender
from bot.engine import DailyEngine
from bot.runtime import Runtime
from bot.schedule import Scheduler, process_name
from bot.store.delivery import DeliveryState
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


async def start_senders(runtime: Runtime, stack: AsyncExitStack, polling: bool) -> dict[str, Sender]:
    """Start the adapter of every platform whose token is set; with polling they also answer users."""
    settings = runtime.settings
    senders: dict[str, Sender] = {}
    if settings.telegram_bot_token:
        telegram = TelegramAdapter(Commands(runtime.service, runtime.store), runtime.store,
                                   settings.telegram_bot_token, settings.telegram_api_url,
                                   max_rate=settings.telegram_max_rate)
        await telegram.start(polling=polling)
        stack.push_async_callback(telegram.stop)
        senders["telegram"] = telegram
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
    async with AsyncExitStack() as stack:
        senders = await start_senders(runtime, stack, polling=True)
        scheduler = Scheduler(DailyEngine(runtime.service, runtime.store, state, calendar), state)
        scheduler.start()
        stack.push_async_callback(scheduler.stop)
        log.info("running with %s; stop with Ctrl-C", ", ".join(senders) or "no chat platform")
        await build_worker(runtime, senders).run(stop)
    log.info("stopped")


async def run_worker(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """A delivery worker only: sends queued digests, answers no users and schedules nothing."""
    stop = stop or stop_event()
    async with AsyncExitStack() as stack:
        senders = await start_senders(runtime, stack, polling=False)
        await build_worker(runtime, senders).run(stop)


async def run_chat(runtime: Runtime) -> None:
    """The terminal chat."""
    await run_console(Commands(runtime.service, runtime.store))
