"""Benchmark: delivery as production runs it — `arxiv-digest worker` processes draining the Redis stream.

A real redis-server holds 10,000 subscribers (the standard synthetic population, 2 % of them groups) and one
600-paper announcement day whose matched papers are already translated (as the daily fetch leaves them). Every
chat's delivery is queued on the stream, then N real `arxiv-digest worker` processes (and, in one case, an
`arxiv-digest run` beside them) read it, match, render and send through the real Telegram adapter to a fake
Bot API that enforces Telegram's limits (30 messages a second overall, 1 a second per chat, 20 a minute per
group) and answers 429 beyond them. Draining 10,000 chats takes about an hour at 30/s, so each case measures a
steady-state window after a warm-up: messages a second at the fake, 429 answers, and messages that reached a
chat twice. The fair baseline is the same processes with one worker.

With `TELEGRAM_PAID_BROADCAST=true` (`run_paid`, `--only delivery_workers_paid`) the fake allows 1,000 flagged
messages a second, so the same 10,000 chats drain in minutes: those cases run until every delivery is
acknowledged and count the whole run (messages a second over its middle 80 %, 429s, messages sent twice, chats
reached, deliveries left in the queue).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.common import Row, Server, open_store, quiet_heap, redis_server
from bench.synthetic import make_papers, subscribers
from bot.models import Listing, Translation
from bot.store import Store
from bot.subscribers import ChatRef, Subscriber
from tests.fakes.telegram_server import DEFAULT_TOKEN, GLOBAL_PER_SECOND, PAID_PER_SECOND, FakeTelegram
from tests.worker_processes import rate_while_busy

NAME = "delivery (worker processes)"
DAY = date(2024, 2, 6)
MODEL = "bench-model"
GROUP_EVERY = 50  # one chat in 50 is a group (20 messages a minute, not 1 a second)
TARGET_SHARE = 0.90
ARXIV_DIGEST = str(Path(sys.executable).parent / "arxiv-digest")
Backend = Callable[[], AbstractContextManager[Server]]  # starts a fresh Redis and stops it afterwards


class CountingTelegram(FakeTelegram):
    """FakeTelegram that counts the 429 answers its limit enforcement gives, with their times."""

    def __init__(self) -> None:
        super().__init__(enforce_limits=True)
        self.rejections: list[float] = []

    def _check_limits(self, chat_id: int | str, now: float, paid: bool = False) -> None:
        """Record a 429 before passing it on."""
        try:
            super()._check_limits(chat_id, now, paid)
        except Exception as exc:
            if getattr(exc, "status", None) == 429:
                self.rejections.append(now)
            raise


@dataclass(frozen=True)
class Case:
    """Which processes deliver: `workers` worker processes, plus one `run` when `with_run`."""

    workers: int
    with_run: bool = False

    @property
    def label(self) -> str:
        """How the case reads in the table."""
        workers = f"{self.workers} worker{'s' if self.workers > 1 else ''}"
        return f"1 run + {workers}" if self.with_run else workers


@dataclass(frozen=True)
class Outcome:
    """What the fake counted inside the measured window, and over the whole run."""

    rate: float
    rejected: int
    doubled: int
    messages: int
    chats: int


def _chat_of(sub: Subscriber, index: int) -> Subscriber:
    """The subscriber as a private chat, or as a group for one in GROUP_EVERY (groups have negative ids)."""
    if index % GROUP_EVERY:
        return sub
    return Subscriber(
        ChatRef("telegram", "-" + sub.chat.chat_id), sub.filters, sub.delivery_time, sub.timezone, sub.lang
    )


def _translation(title: str) -> Translation:
    """A translation of realistic size: a 30-character title, a 60-character summary, a 380-character abstract."""
    return Translation(
        title_zh=("基于" + title[:10] + "的方法研究" * 6)[:30],
        tldr_zh=("本文提出一种新的方法，显著提升了模型在多个基准上的性能。" * 3)[:60],
        abstract_zh=("我们研究了大规模模型在不确定性估计中的表现，并提出了一种简单而有效的改进方法。" * 12)[:380],
        tldr_en="A simple method that improves the model on several benchmarks.",
    )


async def _prepare(store: Store, chats: int, papers: int) -> None:
    """Fill Redis: subscribers, the day's listing, its translations, and one queued delivery per chat."""
    state = store.delivery
    await state.ensure_group()
    population = [_chat_of(sub, n) for n, sub in enumerate(subscribers(chats))]
    listing = Listing(tuple(make_papers(papers)), DAY, ("cs.LG",))
    for sub in population:
        await store.save_subscriber(sub)
    await state.save_day(DAY, listing)
    for paper in listing.papers:
        await store.put_translation(MODEL, paper.versioned_id, _translation(paper.title))
    for sub in population:
        await state.enqueue(sub.chat, DAY.isoformat(), 0)


def _env(redis_url: str, fake: FakeTelegram, home: str, **values: str) -> dict[str, str]:
    """The shipped defaults, pointed at the benchmark's Redis, fake Telegram and a (never called) LLM."""
    return {
        **values,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "LANG": "C.UTF-8",
        "REDIS_URL": redis_url,
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_API_URL": fake.base_url,
        "LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "LLM_API_KEY": "sk-bench",
        "LLM_MODEL": MODEL,
        "LOG_LEVEL": "WARNING",
    }


async def _start(command: str, env: dict[str, str], home: str) -> asyncio.subprocess.Process:
    """Start one `arxiv-digest` process."""
    return await asyncio.create_subprocess_exec(
        ARXIV_DIGEST,
        command,
        cwd=home,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    """SIGTERM every process and wait for it (SIGKILL after 15 s)."""
    for proc in processes:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in processes:
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _measure(
    case: Case, chats: int, papers: int, warmup: float, window: float, backend: Backend = redis_server
) -> Outcome:
    """Run one case on a fresh Redis (one redis-server unless `backend` starts another kind) and count at the fake."""
    with backend() as server, tempfile.TemporaryDirectory() as home:
        async with open_store(server) as store, CountingTelegram() as fake:
            await _prepare(store, chats, papers)
            quiet_heap()  # what this case and the ones before left: a collection scanning it would stall the fake
            env = _env(server.url, fake, home)
            processes = [await _start("worker", env, home) for _ in range(case.workers)]
            if case.with_run:
                processes.append(await _start("run", env, home))
            try:
                await fake.wait_for_sent(1, timeout=120)
                start = time.monotonic() + warmup
                await asyncio.sleep(warmup + window)
                end = start + window
            finally:
                await _stop(processes)
            inside = [m for m in fake.sent if start <= m["sent_at"] < end]
            per_message = Counter((m["chat_id"], m["text"]) for m in fake.sent)
            return Outcome(
                rate=len(inside) / window,
                rejected=sum(1 for t in fake.rejections if start <= t < end),
                doubled=sum(n - 1 for n in per_message.values() if n > 1),
                messages=len(fake.sent),
                chats=len({m["chat_id"] for m in fake.sent}),
            )


def _rows(case: Case, outcome: Outcome) -> list[Row]:
    """The table rows of one case."""
    share = outcome.rate / GLOBAL_PER_SECOND
    return [
        Row(
            NAME,
            case.label,
            "messages/s at the fake",
            f"{outcome.rate:.2f} ({share:.0%} of 30/s)",
            target=f"≥ {TARGET_SHARE:.0%} of 30/s",
            ok=share >= TARGET_SHARE,
            note=f"{outcome.messages:,} messages to {outcome.chats:,} chats in the whole run",
        ),
        Row(
            NAME,
            case.label,
            "429s / doubled messages",
            f"{outcome.rejected} / {outcome.doubled}",
            target="0 / 0",
            ok=outcome.rejected == 0 and outcome.doubled == 0,
        ),
    ]


@dataclass(frozen=True)
class PaidOutcome:
    """What the fake counted over a whole paid-broadcast run, until the queue was empty."""

    rate: float
    rejected: int
    doubled: int
    messages: int
    paid: int
    chats: int
    left: int
    seconds: float


async def _measure_paid(workers: int, chats: int, papers: int, timeout: float) -> PaidOutcome:
    """Deliver every chat's digest as paid broadcasts with `workers` worker processes, and count at the fake."""
    with redis_server() as server, tempfile.TemporaryDirectory() as home:
        async with open_store(server) as store, CountingTelegram() as fake:
            await _prepare(store, chats, papers)
            quiet_heap()
            env = _env(server.url, fake, home, TELEGRAM_PAID_BROADCAST="true")
            processes = [await _start("worker", env, home) for _ in range(workers)]
            try:
                await fake.wait_for_sent(1, timeout=120)
                deadline = time.monotonic() + timeout
                while await store.delivery.queue_depth() and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                await asyncio.sleep(1.0)  # anything sent twice would arrive now
            finally:
                await _stop(processes)
            times = sorted(m["sent_at"] for m in fake.sent)
            per_message = Counter((m["chat_id"], m["text"]) for m in fake.sent)
            return PaidOutcome(
                rate=rate_while_busy(times),
                rejected=len(fake.rejections),
                doubled=sum(n - 1 for n in per_message.values() if n > 1),
                messages=len(fake.sent),
                paid=fake.paid_sent,
                chats=len({m["chat_id"] for m in fake.sent}),
                left=await store.delivery.queue_depth(),
                seconds=times[-1] - times[0],
            )


def _paid_rows(workers: int, outcome: PaidOutcome, chats: int) -> list[Row]:
    """The table rows of one paid-broadcast case."""
    label = f"{workers} worker{'s' if workers > 1 else ''}, paid broadcast"
    return [
        Row(
            NAME,
            label,
            "messages/s at the fake",
            f"{outcome.rate:.1f} ({outcome.rate / PAID_PER_SECOND:.0%} of 1,000/s)",
            note=f"{outcome.messages:,} messages ({outcome.paid:,} paid) to {outcome.chats:,} chats in "
            f"{outcome.seconds:.1f} s",
        ),
        Row(
            NAME,
            label,
            "429s / doubled / deliveries left",
            f"{outcome.rejected} / {outcome.doubled} / {outcome.left}",
            target="0 / 0 / 0",
            ok=outcome.rejected == 0 and outcome.doubled == 0 and outcome.left == 0,
            note=f"{chats:,} deliveries queued; the chats without a matching paper get no message",
        ),
    ]


def run_paid(quick: bool) -> list[Row]:
    """1, 2 and 4 worker processes sending paid broadcasts until 10,000 chats (2,000 with --quick) are served."""
    chats, papers = (2_000, 600) if quick else (10_000, 600)
    rows: list[Row] = []
    for workers in (1, 2, 4):
        rows += _paid_rows(workers, asyncio.run(_measure_paid(workers, chats, papers, timeout=900)), chats)
    return rows


def run(quick: bool) -> list[Row]:
    """1, 2 and 4 worker processes, and 1 run + 2 workers, on 10,000 chats and a 600-paper day."""
    chats, papers = (2_000, 600) if quick else (10_000, 600)
    warmup, window = (5.0, 20.0) if quick else (10.0, 60.0)
    cases = [Case(1), Case(2), Case(4), Case(2, with_run=True)]
    rows: list[Row] = []
    for case in cases:
        rows += _rows(case, asyncio.run(_measure(case, chats, papers, warmup, window)))
    return rows
