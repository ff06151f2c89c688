"""Start the chat adapters whose tokens are set, the scheduler and the delivery workers, and run until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack

from bot.calendar import ArxivCalendar
from bot.delivery import DailyEngine, DeliveryWorker, Scheduler, Sender, SendResult, process_name
from bot.health import Health, start_health_server
from bot.runtime import Runtime
from bot.standby import Standby
from bot.store import Store
from bot.subscribers import ChatRef
from bot.supervisor import RedisWatch, Supervisor
from handlers.commands import Broadcaster, Commands
from handlers.console import run_console
from handlers.discord_bot import DiscordAdapter
from handlers.startup import start_discord, start_telegram, start_telegram_webhook
from handlers.telegram_bot import TelegramAdapter

log = logging.getLogger(__name__)
POLLER_LEASE_MS = 15_000  # a spare takes over polling at most this long (plus one renewal) after the poller dies
POLLER_RENEW_EVERY = 5.0
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
    runtime: Runtime, stack: AsyncExitStack, commands: Commands, polling: bool, supervisor: Supervisor | None = None
) -> dict[str, Sender]:
    """Start the adapter of every platform whose token is set; with polling they also answer users.

    Telegram is started without polling: `poll_telegram` polls while this process holds the token's lease.
    """
    settings = runtime.settings
    senders: dict[str, Sender] = {}
    if settings.telegram_bot_token:
        telegram = TelegramAdapter(
            commands,
            runtime.store,
            settings.telegram_bot_token,
            settings.telegram_api_url,
            max_rate=settings.telegram_max_rate,
            paid_broadcast=settings.telegram_paid_broadcast,
        )
        await start_telegram(telegram, settings, polling=False)
        stack.push_async_callback(telegram.stop)
        senders["telegram"] = telegram
    if settings.discord_bot_token:
        discord = DiscordAdapter(
            commands,
            runtime.store,
            settings.discord_bot_token,
            guild_id=settings.discord_guild_id,
            message_content=settings.discord_message_content,
            shard_count=settings.discord_shard_count,
            shard_ids=settings.discord_shard_ids,
        )
        await start_discord(discord, settings, polling, supervisor)
        stack.push_async_callback(discord.stop)
        senders["discord"] = discord
    return senders


def poll_telegram(runtime: Runtime, telegram: TelegramAdapter, supervisor: Supervisor) -> Standby:
    """Poll Telegram only while this process holds the token's lease; otherwise stand by as a hot spare."""
    token = runtime.settings.telegram_bot_token
    assert token is not None
    lease = runtime.store.poller_lease(token.reveal(), process_name(), POLLER_LEASE_MS)
    return Standby(
        lease,
        "telegram polling",
        telegram.start_polling,
        telegram.stop_polling,
        supervisor.component("telegram polling lease"),
        every=POLLER_RENEW_EVERY,
    )


async def receive_telegram(
    runtime: Runtime, telegram: TelegramAdapter, supervisor: Supervisor, stop: asyncio.Event
) -> None:
    """Answer Telegram users: on the webhook when TELEGRAM_WEBHOOK_URL is set (every replica), else by polling."""
    if runtime.settings.telegram_webhook is not None:
        await start_telegram_webhook(telegram, runtime.settings)
        return
    standby = poll_telegram(runtime, telegram, supervisor)
    supervisor.spawn("telegram polling", lambda: standby.run(stop), stop)


def quietly(name: str, close: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A shutdown step that logs one line instead of a traceback when it fails (Redis down at exit)."""

    async def run() -> None:
        try:
            await close()
        except Exception as exc:
            log.warning("%s at shutdown failed: %s", name, runtime_reason(exc))

    return run


def runtime_reason(exc: BaseException) -> str:
    """An error as a short phrase."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def supervisor_for(runtime: Runtime) -> tuple[Supervisor, RedisWatch]:
    """A supervisor for this process, watching its Redis (and starting the bot's own Redis again if it dies)."""
    store = runtime.store
    watch = RedisWatch(store.ping, describe=lambda exc: str(store.unavailable(exc)), revive=runtime.revive_redis)
    return Supervisor(watch), watch


def build_worker(runtime: Runtime, senders: dict[str, Sender]) -> DeliveryWorker:
    """A delivery worker sending through these adapters."""
    settings = runtime.settings
    return DeliveryWorker(
        store=runtime.store,
        state=runtime.store.delivery,
        service=runtime.service,
        senders=senders,
        consumer=process_name(),
        claim_idle_ms=int(settings.delivery_claim_idle * 1000),
        max_attempts=settings.delivery_max_attempts,
        concurrency=settings.delivery_concurrency,
    )


async def run_bot(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """The whole bot: adapters answering users, the daily scheduler (one across processes) and a worker.

    Every long-running part is supervised: a Redis outage of any length is logged once, users get an apology
    meanwhile, and everything resumes when Redis is back.
    """
    stop = stop or stop_event()
    state = runtime.store.delivery
    calendar = ArxivCalendar(holidays=runtime.settings.arxiv_holidays)
    commands = build_commands(runtime)
    supervisor, watch = supervisor_for(runtime)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(watch.close)
        senders = await start_senders(runtime, stack, commands, polling=True, supervisor=supervisor)
        commands.broadcaster = broadcaster(runtime.store, senders)
        telegram = senders.get("telegram")
        if isinstance(telegram, TelegramAdapter):
            await receive_telegram(runtime, telegram, supervisor, stop)
        engine = DailyEngine(runtime.service, runtime.store, state, calendar, platforms=frozenset(senders))
        scheduler = Scheduler(engine, state, status=supervisor.component("scheduler"))
        scheduler.start()
        stack.push_async_callback(quietly("releasing the scheduler lock", scheduler.stop))
        await start_health(runtime, stack, scheduler, senders)
        log.info("running with %s; stop with Ctrl-C", ", ".join(senders) or "no chat platform")
        await run_supervised_worker(runtime, senders, supervisor, stop)
    log.info("stopped")


async def run_supervised_worker(
    runtime: Runtime, senders: dict[str, Sender], supervisor: Supervisor, stop: asyncio.Event
) -> None:
    """The delivery worker until `stop`, restarted after any failure; then wait for the other supervised loops."""
    worker = build_worker(runtime, senders)
    supervisor.spawn("delivery worker", lambda: worker.run(stop), stop)
    with contextlib.suppress(asyncio.CancelledError):
        await supervisor.stopped()


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
    log.info("health and metrics on http://%s:%d/healthz and /metrics", settings.metrics_host, settings.metrics_port)


async def run_worker(runtime: Runtime, stop: asyncio.Event | None = None) -> None:
    """A delivery worker only: sends queued digests, answers no users and schedules nothing."""
    stop = stop or stop_event()
    supervisor, watch = supervisor_for(runtime)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(watch.close)
        senders = await start_senders(runtime, stack, build_commands(runtime), polling=False, supervisor=supervisor)
        await start_health(runtime, stack, None, senders)
        await run_supervised_worker(runtime, senders, supervisor, stop)


async def run_chat(runtime: Runtime) -> None:
    """The terminal chat."""
    await run_console(build_commands(runtime))
