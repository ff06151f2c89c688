"""Benchmark 4, translation economy: LLM requests for a day's matches (one per paper), and wall time."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence

import httpx
import redis.asyncio as redis

from bench.common import Row, fmt_count, open_store, redis_server, timed
from bench.synthetic import filters_by_chat, make_papers, subscribers
from bot.config import LLMSettings, Secret
from bot.filters import CompiledMatcher
from bot.models import Paper
from bot.store import Store
from bot.translate import Translator
from tests.fakes.llm_server import FakeLLM

NAME = "4 translation"
WALL_TARGET_FACTOR = 1.2
_TITLE = re.compile(r"^Title: (.*)$", re.MULTILINE)


def wanted_papers(matcher: CompiledMatcher, papers: Sequence[Paper]) -> list[Paper]:
    """Every paper some subscriber will receive, once each (as DeliveryEngine._translate_matches builds it)."""
    wanted: dict[str, Paper] = {}
    for matched in matcher.match(papers).values():
        wanted.update((p.versioned_id, p) for p in matched)
    return list(wanted.values())


def blocking_store(url: str, max_connections: int = 100) -> Store:
    """A Store whose connection pool makes a command wait for a free connection instead of failing (see the report)."""
    pool = redis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=None, decode_responses=True
    )
    return Store(redis.Redis(connection_pool=pool))


def _translator(http: httpx.AsyncClient, llm: FakeLLM, store: Store, concurrency: int) -> Translator:
    """A Translator on the fake LLM with the given concurrency."""
    settings = LLMSettings(base_url=llm.url, api_key=Secret("sk-bench"), model="bench-model", concurrency=concurrency)
    return Translator(http, settings, store)


async def _economy(store: Store, http: httpx.AsyncClient, size: int, count: int, matcher: CompiledMatcher) -> Row:
    """Translate one day's matched papers for `size` subscribers: requests counted at the fake, then a second pass."""
    await store.redis_for_tests.flushall()
    papers = make_papers(count)
    wanted = wanted_papers(matcher, papers)
    async with FakeLLM() as llm:
        first = _translator(http, llm, store, concurrency=20)
        with timed() as watch:
            results = await first.translate_many(wanted)
        calls_first = llm.count
        per_paper = Counter(_TITLE.findall("\n".join(r.user_message for r in llm.requests)))
        second = _translator(http, llm, store, concurrency=20)  # a new process would start with no in-flight table
        await second.translate_many(wanted)
        calls_second = llm.count - calls_first
    failed = sum(1 for r in results.values() if isinstance(r, Exception))
    ok = calls_first == len(wanted) and calls_second == 0 and failed == 0 and max(per_paper.values(), default=1) == 1
    return Row(
        NAME,
        f"{fmt_count(size)} subs × {count:,} papers",
        "LLM requests (1st pass / 2nd pass)",
        f"{calls_first:,} / {calls_second}",
        target="= distinct matched / 0",
        ok=ok,
        note=(
            f"{len(wanted):,} distinct papers matched by some subscriber; most requests for one paper:"
            f" {max(per_paper.values(), default=0)}; failed: {failed}; 1st pass {watch.wall:.1f} s at concurrency 20"
            " against an instant fake LLM"
        ),
    )


async def _wall_time(store: Store, http: httpx.AsyncClient, count: int, concurrency: int) -> Row:
    """Translate `count` papers against a fake LLM answering in 1 s each; compare with count / concurrency."""
    await store.redis_for_tests.flushall()
    papers = make_papers(count, seed=7)
    async with FakeLLM() as llm:
        llm.delay = 1.0
        translator = _translator(http, llm, store, concurrency)
        with timed() as watch:
            await translator.translate_many(papers)
        peak = llm.max_in_flight
    ideal = count / concurrency
    return Row(
        NAME,
        f"{count} papers, concurrency {concurrency}, LLM 1 s",
        "wall time",
        f"{watch.wall:.2f} s",
        target=f"≤ {WALL_TARGET_FACTOR:g} × {ideal:g} s",
        ok=watch.wall <= WALL_TARGET_FACTOR * ideal,
        note=f"{watch.wall / ideal:.3f}× the ideal {ideal:g} s; {llm.count} requests; at most {peak} in flight",
    )


async def _as_shipped(store: Store, http: httpx.AsyncClient, count: int) -> Row:
    """translate_many over `count` uncached papers with the Store as Store.from_url builds it."""
    await store.redis_for_tests.flushall()
    papers = make_papers(count, seed=11)
    async with FakeLLM() as llm:
        translator = _translator(http, llm, store, concurrency=20)
        try:
            results = await translator.translate_many(papers)
            outcome = f"ok: {sum(1 for r in results.values() if not isinstance(r, Exception))} translated"
            ok = True
        except Exception as exc:  # the failure is the finding
            outcome, ok = f"{type(exc).__name__}: {exc}", False
            # gather() left the other papers' tasks running: stop them before the fake LLM goes away.
            orphans = list(translator._in_flight.values())
            for task in orphans:
                task.cancel()
            await asyncio.gather(*orphans, return_exceptions=True)
    return Row(
        NAME,
        f"{count:,} uncached papers, Store.from_url as shipped",
        "translate_many",
        outcome,
        target="completes",
        ok=ok,
        note="every paper's cache lookup starts at once; the store's blocking pool queues them (it crashed before)",
    )


async def _run(quick: bool) -> list[Row]:
    """Economy at each size, then the wall-time run."""
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    counts = (200, 2_000)
    everyone = subscribers(max(sizes))
    rows: list[Row] = []
    with redis_server() as server:
        async with open_store(server) as shipped, httpx.AsyncClient(trust_env=False) as http:
            rows.append(await _as_shipped(shipped, http, 500))
        store = blocking_store(server.url)
        try:
            for size in sizes:
                matcher = CompiledMatcher(filters_by_chat(everyone[:size]))
                async with httpx.AsyncClient(trust_env=False) as http:
                    for count in counts:
                        rows.append(await _economy(store, http, size, count, matcher))
            async with httpx.AsyncClient(trust_env=False) as http:
                rows.append(await _wall_time(store, http, 60 if quick else 200, 20))
        finally:
            await store.close()
    return rows


def run(quick: bool) -> list[Row]:
    """Count LLM requests for a day of papers and subscribers, and time translation at a fixed concurrency."""
    return asyncio.run(_run(quick))
