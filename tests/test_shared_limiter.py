"""One send rate per bot token, however many processes send: Telegram's and Discord's limits hold across processes."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import gc
import itertools
import logging
import random
import time as time_module
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import date, time
from pathlib import Path

import discord
import pytest

from bot.config import Secret
from bot.delivery import SendResult
from bot.filters import parse_filter
from bot.models import Listing, Paper
from bot.redis_server import RedisServer, free_port
from bot.render.discord_embeds import text_messages
from bot.service import DigestService
from bot.store import Store
from bot.store.limiter import HORIZON_SECONDS, LATE_SECONDS, SharedLimiter, bot_key
from bot.subscribers import ChatRef, Lang, Subscriber
from handlers.commands import Commands
from handlers.discord_bot import DiscordAdapter
from tests.cli_runner import ARXIV_DIGEST, base_env
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_server import DEFAULT_TOKEN as DISCORD_TOKEN
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.telegram_server import DEFAULT_TOKEN, GLOBAL_PER_SECOND, FakeTelegram
from tests.redis_cluster import ON_BOTH_BACKENDS
from tests.worker_processes import rate_while_busy

DAY = date(2024, 3, 26)
PAPERS = 87  # 29 papers fill one message (30 entries with the header): 87 make 3 messages, 58 make 2, 28 make 1
TOPICS = {3: "cs.LG", 2: "stat.ML", 1: "math.OC"}  # messages in the digest -> the filter that gives that many
PRIVATE_CHATS = {3: 60, 2: 50, 1: 20}  # messages per digest -> how many private chats get such a digest
GROUPS = 10  # groups (20 messages a minute), each getting a 2-message digest
RATE = 20  # the limiters' rate in the tests that use them directly
DISCORD_PER_SECOND = 50
Limiters = tuple[SharedLimiter, SharedLimiter]


def _listing() -> Listing:
    """A day of 87 cs.LG papers: the first 58 cross-listed in stat.ML, the first 28 in math.OC."""
    papers = []
    for n in range(PAPERS):
        categories = ("cs.LG", *(["stat.ML"] if n < 58 else []), *(["math.OC"] if n < 28 else []))
        papers.append(
            Paper(
                arxiv_id=f"2403.{20000 + n}",
                version=1,
                title=f"Paper {n} on rate limits",
                abstract="We study rate limits.",
                url=f"https://arxiv.org/abs/2403.{20000 + n}",
                categories=categories,
            )
        )
    return Listing(tuple(papers), DAY, ("cs.LG", "stat.ML", "math.OC"))


def _chats() -> list[tuple[ChatRef, int]]:
    """Every chat with the number of messages its digest takes, in a fixed shuffled order."""
    sizes = [size for size, count in PRIVATE_CHATS.items() for _ in range(count)]
    chats = [(ChatRef("telegram", str(20_000 + n)), size) for n, size in enumerate(sizes)]
    chats += [(ChatRef("telegram", str(-1_001_000_000_000 - n)), 2) for n in range(GROUPS)]
    random.Random(10).shuffle(chats)
    return chats


async def _queue(store: Store, chats: list[tuple[ChatRef, int]]) -> None:
    """Subscribe every chat (`/limit all`) to the topic that gives its digest size, make the day ready, queue them."""
    state = store.delivery
    await state.ensure_group()
    ratings = store.ratings
    for chat, size in chats:
        await store.save_subscriber(Subscriber(chat, (parse_filter(TOPICS[size]),), time(9), "Asia/Shanghai", Lang.EN))
        await ratings.set_field(chat, "limit", "all")
    await state.save_day(DAY, _listing())
    for chat, _ in chats:
        await state.enqueue(chat, DAY.isoformat(), 0)  # unless `run`'s scheduler, seeing the new chats, queued it


@contextlib.asynccontextmanager
async def _process(command: str, env: dict[str, str], cwd: Path) -> AsyncIterator[list[str]]:
    """Run `arxiv-digest COMMAND` until the block ends, once it logged that its delivery worker started."""
    proc = await asyncio.create_subprocess_exec(
        ARXIV_DIGEST, command, cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    lines: list[str] = []
    started = asyncio.Event()

    async def read() -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            lines.append(raw.decode(errors="replace"))
            if "delivery worker" in lines[-1]:
                started.set()

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(started.wait(), timeout=60)
        yield lines
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=90)
        await reader


@contextlib.asynccontextmanager
async def _no_collection_pauses() -> AsyncIterator[None]:
    """No garbage collection in this process meanwhile: the fake runs here, and a pause would stamp requests together.

    A collection of pytest's large heap can hold the fake's event loop for 100 ms and more; the requests that
    arrived meanwhile would then be timed as one burst, as no real server would.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@ON_BOTH_BACKENDS
async def test_one_run_and_two_workers_together_keep_telegrams_limits(
    tmp_path: Path, store: Store, redis_url: Callable[[], str]
) -> None:
    """`run` and two `worker` processes deliver 320 messages: no 429, and together they send near 30 a second."""
    chats = _chats()
    expected = sum(size for _, size in chats)
    async with FakeTelegram(enforce_limits=True) as telegram, FakeArxiv() as arxiv:
        env = base_env(
            tmp_path,
            REDIS_URL=redis_url(),
            TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
            TELEGRAM_API_URL=telegram.base_url,
            ARXIV_RSS_URL=arxiv.rss_url,
            ARXIV_API_URL=arxiv.api_url,
            DELIVERY_CLAIM_IDLE="600",
        )
        async with (
            _process("run", env, tmp_path) as log,
            _process("worker", env, tmp_path),
            _process("worker", env, tmp_path),
            _no_collection_pauses(),
        ):
            await _queue(store, chats)
            await telegram.wait_for_sent(expected, timeout=90)
            await asyncio.sleep(0.5)  # anything extra would arrive now
        assert DEFAULT_TOKEN not in "".join(log)
    per_chat = Counter(str(m["chat_id"]) for m in telegram.sent)
    assert per_chat == {chat.chat_id: size for chat, size in chats}
    assert telegram.rate_limited == 0, Counter(v.kind for v in telegram.limit_violations)
    assert telegram.limit_violations == []
    rate = rate_while_busy(sorted(m["sent_at"] for m in telegram.sent))
    assert rate >= 0.9 * GLOBAL_PER_SECOND, f"{rate:.1f} messages a second"


@pytest.fixture(name="limiters")
async def fixture_limiters(store: Store, redis_server: RedisServer) -> AsyncIterator[Limiters]:
    """Two limiters for one bot token on two connections to the test Redis, as two processes would hold them."""
    other = Store.from_url(redis_server.url)
    bot = bot_key("telegram", DEFAULT_TOKEN)
    yield store.limiter(bot, RATE), other.limiter(bot, RATE)
    await other.close()


async def _stamp(limiter: SharedLimiter, chat: str, urgent: bool = False) -> float:
    """Acquire a slot and return when it came."""
    await limiter.acquire(chat, 1.0, urgent=urgent)
    return time_module.monotonic()


async def test_two_processes_share_one_evenly_spaced_schedule(limiters: Limiters) -> None:
    """Two limiters of one bot hand out 60 slots one spacing apart, never more than the rate in any second."""
    first, second = limiters
    times = sorted(await asyncio.gather(*(_stamp(limiters[n % 2], f"telegram:{n}") for n in range(60))))
    assert min(b - a for a, b in itertools.pairwise(times)) >= first.spacing - LATE_SECONDS
    assert max(bisect.bisect_left(times, t + 1.0) - n for n, t in enumerate(times)) <= RATE
    assert times[-1] - times[0] >= 59 * second.spacing - LATE_SECONDS


async def test_a_pause_and_a_chats_gap_hold_in_every_process(limiters: Limiters) -> None:
    """After a RetryAfter in one process the other sends nothing until it ends; a chat's gap holds across them too."""
    first, second = limiters
    await first.acquire("telegram:7", 0.4)
    started = time_module.monotonic()
    await second.acquire("telegram:7", 0.4)
    assert time_module.monotonic() - started >= 0.35, "the chat's gap, counted from the other process's send"
    await first.pause(0.5)
    started = time_module.monotonic()
    await second.acquire("telegram:8", 0.4, urgent=True)
    assert time_module.monotonic() - started >= 0.45, "the pause holds urgent sends too"


async def test_an_urgent_send_goes_ahead_of_a_full_schedule(limiters: Limiters) -> None:
    """With 2 s of digests queued in one process, another process's reply to a command waits a slot or two, no more."""
    first, second = limiters
    queued = asyncio.gather(*(first.acquire(f"telegram:{n}", 1.0) for n in range(40)))
    await asyncio.sleep(0.3)
    started = time_module.monotonic()
    await second.acquire("telegram:99", 1.0, urgent=True)
    assert time_module.monotonic() - started < HORIZON_SECONDS + 3 * second.spacing + 0.1
    await queued


async def test_limiter_keys_name_hashes_of_the_token_and_the_chat(store: Store, limiters: Limiters) -> None:
    """The limiter's Redis keys carry hashes of the bot token and the chat: neither is readable, nor left by /stop."""
    await limiters[0].acquire("telegram:5", 1.0)
    keys = [str(k) for k in await store.redis_for_tests.keys("*")]
    assert len(keys) == 2 and all(k.startswith("axd:rate:{telegram:") for k in keys)
    assert not any(DEFAULT_TOKEN.split(":")[1] in k or "telegram:5" in k for k in keys)


async def test_without_redis_sends_are_paced_by_the_process_alone(caplog: pytest.LogCaptureFixture) -> None:
    """When Redis cannot be reached, sends still go out (answers to users, apologies), evenly spaced, logged once."""
    unreachable = Store.from_url(f"redis://127.0.0.1:{free_port()}/0")
    limiter = unreachable.limiter(bot_key("telegram", DEFAULT_TOKEN), RATE)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.store.limiter"):
            times = [await asyncio.wait_for(_stamp(limiter, f"telegram:{n}", urgent=True), 10) for n in range(5)]
    finally:
        await unreachable.close()
    assert min(b - a for a, b in itertools.pairwise(times)) >= limiter.spacing - LATE_SECONDS
    assert len([r for r in caplog.records if "Redis unreachable" in r.getMessage()]) == 1
    assert DEFAULT_TOKEN not in caplog.text


async def test_two_discord_adapters_together_stay_under_discords_global_limit(
    store: Store, redis_server: RedisServer, service: DigestService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two adapters with one Discord token (two processes) post 150 messages: never more than 50 in any second."""
    other = Store.from_url(redis_server.url)
    async with FakeDiscord() as fake, AsyncExitStack() as stack:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        stack.push_async_callback(other.close)
        adapters = []
        for client in (store, other):
            adapter = DiscordAdapter(Commands(service, client), client, Secret(DISCORD_TOKEN))
            await adapter.login(sync_commands=False)
            stack.push_async_callback(adapter.stop)
            adapters.append(adapter)
        results = await asyncio.gather(
            *(adapters[n % 2].send(7_000_000_000_000_000 + n, text_messages(f"digest {n}")) for n in range(150))
        )
    assert set(results) == {SendResult.SENT}
    assert len(fake.posted_at) == 150
    assert fake.busiest_second() <= DISCORD_PER_SECOND


async def test_a_slot_woken_for_too_late_is_given_up_not_sent_bunched(store: Store) -> None:
    """A process that wakes late for its slot takes a fresh one (no bunched send), without waiting its own chat gap."""
    oversleeps = [LATE_SECONDS * 3]
    sleeps: list[float] = []

    async def late_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(seconds + (oversleeps.pop() if oversleeps else 0.0))

    limiter = store.limiter(bot_key("telegram", DEFAULT_TOKEN), RATE, sleep=late_sleep)
    started = time_module.monotonic()
    await limiter.acquire("telegram:3", 1.0)
    assert time_module.monotonic() - started < 0.5, "its own unused reservation did not hold the chat back"
    assert len(sleeps) == 2, "the first, late slot was given up and a second one taken"
