"""Queue a day of deliveries in Redis and run real `arxiv-digest worker` processes against the fake Telegram."""

from __future__ import annotations

import asyncio
import re
from datetime import date, time
from pathlib import Path
from typing import Any

from bot.filters import parse_filter
from bot.models import Listing, Paper
from bot.store import Store
from bot.store.delivery import DeliveryState
from bot.store.keys import DUE_KEY, QUEUE_KEY, SUBSCRIBERS_KEY, UNSCHEDULED_KEY, WAITING_KEY
from bot.subscribers import ChatRef, Lang, Subscriber
from tests.cli_runner import ARXIV_DIGEST, base_env
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram

DAY = date(2024, 3, 29)  # a Friday listing: nothing newer is announced until Monday's
TOPIC = parse_filter("cs.LG")
FOUR_MESSAGES = 120  # papers whose English digest takes 4 Telegram messages (about 35 entries fill 4096 characters)
TWO_MESSAGES = 50


def listing_of(count: int, day: date = DAY) -> Listing:
    """A day's listing of `count` short cs.LG papers."""
    papers = tuple(
        Paper(
            f"2403.{20_000 + n}",
            f"Paper {n} on learning",
            "Abstract. " * 40,
            f"https://arxiv.org/abs/2403.{20_000 + n}",
            version=1,
            categories=("cs.LG",),
        )
        for n in range(count)
    )
    return Listing(papers, day=day, categories=("cs.LG",))


async def queue_day(store: Store, chats: list[ChatRef], listing: Listing) -> DeliveryState:
    """Subscribe the chats (English, 09:00 Shanghai, `/limit all`), make the day ready, queue one delivery each."""
    state = store.delivery
    await state.ensure_group()
    ratings = store.ratings
    for chat in chats:
        await store.save_subscriber(Subscriber(chat, (TOPIC,), time(9), "Asia/Shanghai", Lang.EN))
        await ratings.set_field(chat, "limit", "all")  # every matching paper: digests of several messages
    assert listing.day is not None
    await state.save_day(listing.day, listing)
    for chat in chats:
        assert await state.enqueue(chat, listing.day.isoformat(), 0)
    return state


def worker_env(home: Path, redis_url: str, telegram: FakeTelegram, **values: str) -> dict[str, str]:
    """The environment of a worker sending through the fake Telegram."""
    return base_env(
        home, REDIS_URL=redis_url, TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN, TELEGRAM_API_URL=telegram.base_url, **values
    )


async def start_worker(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """Start `arxiv-digest worker` as its own process."""
    return await asyncio.create_subprocess_exec(
        ARXIV_DIGEST,
        "worker",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop_workers(*workers: asyncio.subprocess.Process) -> None:
    """Stop worker processes with SIGTERM and wait for them."""
    for worker in workers:
        if worker.returncode is None:
            worker.terminate()
    for worker in workers:
        await worker.wait()


async def kill_mid_send(worker: asyncio.subprocess.Process, telegram: FakeTelegram) -> None:
    """SIGKILL a worker whose sends are held unanswered at the fake Telegram, then let sends through again."""
    worker.kill()
    await worker.wait()
    await asyncio.sleep(0.5)  # the fake drops the requests whose sender died
    telegram.sends_open.set()


async def deliver_with_worker(
    env: dict[str, str], cwd: Path, telegram: FakeTelegram, state: DeliveryState, messages: int
) -> None:
    """Start a worker, wait until `messages` messages in all were sent and the queue drained, then stop it."""
    worker = await start_worker(env, cwd)
    try:
        await telegram.wait_for_sent(messages, timeout=90)
        await wait_until_drained(state, timeout=30)
    finally:
        await stop_workers(worker)


async def wait_until_drained(state: DeliveryState, timeout: float) -> None:
    """Wait until every queued delivery was finished and acknowledged."""
    for _ in range(int(timeout * 10)):
        if await state.queue_depth() == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{await state.queue_depth()} deliveries still queued after {timeout} s")


def rate_while_busy(times: list[float]) -> float:
    """Messages a second while busy: over the middle 80 % of the sends (not start-up, not the last few chats)."""
    first, last = round(len(times) * 0.1), round(len(times) * 0.9)
    return (last - first) / (times[last] - times[first])


async def traces_of(store: Store, chat: ChatRef) -> list[str]:
    """Every key named after the chat, and every shared set or queue that still lists it."""
    named = re.compile(re.escape(chat.key) + r"(?![0-9])")
    found = sorted([key async for key in store.redis_for_tests.scan_iter(count=1000) if named.search(key)])
    for key in (SUBSCRIBERS_KEY, UNSCHEDULED_KEY, WAITING_KEY):
        if await store.redis_for_tests.sismember(key, chat.key):
            found.append(f"{key} lists it")
    if await store.redis_for_tests.zscore(DUE_KEY, chat.key) is not None:
        found.append(f"{DUE_KEY} lists it")
    entries: Any = await store.redis_for_tests.xrange(QUEUE_KEY)
    found += [f"{QUEUE_KEY} entry {entry_id}" for entry_id, fields in entries if fields.get("chat") == chat.key]
    return found
