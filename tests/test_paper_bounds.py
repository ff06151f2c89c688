"""/paper through the real Telegram adapter: translation budgets, bounded answer times, remembered failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest

from bot.config import Secret
from bot.models import Paper
from bot.runtime import build_service
from bot.service import DigestService, Requester
from bot.store import Store
from handlers.commands import Commands, ReplyBounds
from handlers.pacing import ChatPacer
from handlers.telegram_bot import TelegramAdapter
from handlers.texts import WORKING
from tests.fake_settings import fake_settings
from tests.fakes.arxiv_server import Canned, FakeArxiv
from tests.fakes.llm_server import Behaviour, FakeLLM
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegram, fixture_fake_telegram  # noqa: F401

BOUNDS = ReplyBounds(interim=0.5, final=3.0, margin=1.0)
ADMIN = 99
PENDING = "not translated yet"
LIMITED = "translation limit reached"
FAILED = "translation failed"
Start = Callable[..., Awaitable[tuple[TelegramAdapter, DigestService]]]


def papers(count: int, first: int = 1) -> list[Paper]:
    """Recent papers (as the daily listing caches them), so /paper needs no arXiv request."""
    return [
        Paper(
            f"2403.{20000 + n}",
            f"Paper number {n} on sparse models",
            f"We study sparse model {n}. It works.",
            f"https://arxiv.org/abs/2403.{20000 + n}",
            version=1,
        )
        for n in range(first, first + count)
    ]


@pytest.fixture(name="start")
async def fixture_start(
    fake_telegram: FakeTelegram, arxiv: FakeArxiv, fake_llm: FakeLLM, store: Store
) -> AsyncIterator[Start]:
    """Start the real adapter with a service configured by extra settings, answering within BOUNDS."""
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(trust_env=False))

        async def start(max_rate: int = 30, **env: str) -> tuple[TelegramAdapter, DigestService]:
            """The adapter and its service, with these settings on top of the test ones."""
            settings = fake_settings(arxiv, fake_llm, LLM_MAX_ATTEMPTS="1", ADMIN_IDS=str(ADMIN), **env)
            service = build_service(settings, store, http)
            commands = Commands(service, store, admin_ids=settings.admin_ids, bounds=BOUNDS)
            adapter = TelegramAdapter(
                commands,
                store,
                Secret(DEFAULT_TOKEN),
                fake_telegram.base_url,
                pacer=ChatPacer(private_interval=0.05, group_interval=0.05),
                max_rate=max_rate,
            )
            await adapter.start()
            stack.push_async_callback(adapter.stop)
            return adapter, service

        yield start


async def ask(fake: FakeTelegram, chat: int, text: str, count: int = 1, **kwargs: object) -> list[str]:
    """Send a command and return the texts of the first `count` messages that chat has received since."""
    before = len(fake.sent_to(chat))
    fake.user_sends(chat, text, **kwargs)  # type: ignore[arg-type]
    sent = await fake.wait_for_sent_to(chat, before + count, timeout=10.0)
    return [m["text"] for m in sent[before:]]


async def test_new_translations_are_budgeted_per_user_and_chat(
    start: Start, fake_telegram: FakeTelegram, fake_llm: FakeLLM, store: Store
) -> None:
    """Past its budget a user gets the English and when translation resumes; others are not held back."""
    await start(PAPER_TRANSLATIONS_PER_USER_HOUR="2", PAPER_TRANSLATIONS_PER_USER_DAY="5")
    listed = papers(6)
    await store.put_papers(listed)
    for paper in listed[:2]:
        [text] = await ask(fake_telegram, 1, f"/paper {paper.arxiv_id}")
        assert text.startswith("中文：Paper number")
    answer = await ask(fake_telegram, 1, f"/paper {listed[2].arxiv_id}", count=2)
    assert LIMITED in answer[0] and "We study sparse model 3" in answer[0]
    assert "translation resumes at" in answer[1] and ":00 UTC" in answer[1] and "恢复" in answer[1]
    assert fake_llm.count == 2
    [cached] = await ask(fake_telegram, 1, f"/paper {listed[0].arxiv_id}")
    assert cached.startswith("中文：Paper number 1"), "a cached paper never counts against the budget"
    [other] = await ask(fake_telegram, 2, f"/paper {listed[2].arxiv_id}")
    assert other.startswith("中文：Paper number 3"), "another user in another chat has a budget of their own"
    group = -500
    await ask(fake_telegram, group, f"/paper {listed[3].arxiv_id}", user_id=21, chat_type="group")
    await ask(fake_telegram, group, f"/paper {listed[4].arxiv_id}", user_id=22, chat_type="group")
    [held] = (await ask(fake_telegram, group, f"/paper {listed[5].arxiv_id}", count=2, user_id=23, chat_type="group"))[
        :1
    ]
    assert LIMITED in held, "a chat's budget is shared by its members"
    [admin] = await ask(fake_telegram, ADMIN, f"/paper {listed[5].arxiv_id}")
    assert admin.startswith("中文：Paper number 6"), "administrators are exempt"

    _, second = await start(PAPER_TRANSLATIONS_PER_USER_HOUR="2", PAPER_TRANSLATIONS_PER_USER_DAY="5")
    requester = Requester("telegram:1", "telegram:1")
    fresh = papers(1, first=50)
    await store.put_papers(fresh)
    answer_elsewhere = await second.lookup_paper(fresh[0].arxiv_id, requester)
    assert answer_elsewhere.resumes_at is not None, "the budget is counted in Redis, shared by processes"


async def test_a_slow_llm_gets_a_working_reply_then_the_english_in_bounded_time(
    start: Start, fake_telegram: FakeTelegram, fake_llm: FakeLLM, store: Store
) -> None:
    """A slow LLM: "working on it", then the marked English within the bound; the next /paper is translated."""
    await start()
    [paper] = papers(1)
    await store.put_papers([paper])
    fake_llm.delay = 4.0
    started = time.monotonic()
    working, english = await ask(fake_telegram, 7, f"/paper {paper.arxiv_id}", count=2)
    elapsed = time.monotonic() - started
    assert working == WORKING
    assert PENDING in english and "We study sparse model 1" in english
    assert elapsed < BOUNDS.final
    await asyncio.sleep(4.5 - elapsed)
    [translated] = await ask(fake_telegram, 7, f"/paper {paper.arxiv_id}")
    assert translated.startswith("中文：Paper number 1") and fake_llm.count == 1


@pytest.mark.parametrize(
    "answer",
    [Canned(200, delay=30.0), Canned(503, b"busy", headers={"Retry-After": "86400"})],
    ids=["hangs", "503-retry-after-a-day"],
)
async def test_arxiv_not_answering_gets_an_answer_in_bounded_time(
    answer: Canned, start: Start, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """When arXiv hangs or asks to come back tomorrow: "working on it", then "not answering" within the bound."""
    await start()
    arxiv.always_api(answer)
    started = time.monotonic()
    working, final = await ask(fake_telegram, 8, "/paper 2402.03478", count=2)
    assert working == WORKING
    assert "arXiv is not answering" in final
    assert time.monotonic() - started < BOUNDS.final


async def test_a_cached_paper_is_answered_while_every_llm_slot_is_busy(
    start: Start, fake_telegram: FakeTelegram, fake_llm: FakeLLM, store: Store
) -> None:
    """With every LLM slot busy and 68 more /paper waiting, a translated paper is answered in about 1 s."""
    _, service = await start(max_rate=1000, LLM_CONCURRENCY="2")  # the send limiter is not measured here
    slow, ready = papers(70, first=100), papers(1, first=10)[0]
    await store.put_papers([*slow, ready])
    await service.paper(ready.arxiv_id)
    fake_llm.delay = 6.0
    for n, paper in enumerate(slow):
        fake_telegram.user_sends(100 + n, f"/paper {paper.arxiv_id}")
    await asyncio.sleep(0.3)
    started = time.monotonic()
    [text] = await ask(fake_telegram, 200, f"/paper {ready.arxiv_id}")
    assert text.startswith("中文：Paper number 10")
    assert fake_telegram.sent_to(200)[0]["sent_at"] - started < BOUNDS.interim + 1.5


async def test_a_bad_translation_is_shown_as_failed_and_not_asked_for_again(
    start: Start, fake_telegram: FakeTelegram, fake_llm: FakeLLM, store: Store
) -> None:
    """An answer with a <script> tag is a failed translation; asking again within the hour costs no LLM call."""
    await start()
    [paper] = papers(1)
    await store.put_papers([paper])
    fake_llm.script_for(
        "Paper number 1",
        Behaviour(
            answer={
                "title_zh": "<script>alert(1)</script>稀疏模型",
                "tldr_zh": "稀疏模型。",
                "abstract_zh": "稀疏模型。",
                "tldr_en": "Sparse.",
            }
        ),
    )
    for _ in range(3):
        [text] = await ask(fake_telegram, 9, f"/paper {paper.arxiv_id}")
        assert FAILED in text and "<script>" not in text
    assert fake_llm.count == 1
    assert 3500 < await store.redis_for_tests.ttl(f"axd:trfail:fake-model:{paper.versioned_id}") <= 3600


async def test_an_absurd_token_count_does_not_fail_paper(
    start: Start, fake_telegram: FakeTelegram, fake_llm: FakeLLM, store: Store
) -> None:
    """Token counts of 2^64 and 2^63-11 are ignored: both papers are translated and /stats still works."""
    await start()
    listed = papers(2)
    await store.put_papers(listed)
    for paper, total in zip(listed, (2**64, 2**63 - 11), strict=True):
        fake_llm.script(Behaviour(usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": total}))
        [text] = await ask(fake_telegram, 11, f"/paper {paper.arxiv_id}")
        assert text.startswith("中文：Paper number")
    [stats] = await ask(fake_telegram, ADMIN, "/stats")
    assert "2 calls, 0 tokens" in stats


async def test_many_users_asking_few_papers_cost_few_arxiv_requests(
    start: Start, fake_telegram: FakeTelegram, arxiv: FakeArxiv
) -> None:
    """Forty users asking for 8 papers at once cost at most one arXiv request per paper (batched: fewer)."""
    await start(max_rate=1000, ARXIV_MIN_INTERVAL="0.3")
    ids = [f"2403.{40000 + n}" for n in range(8)]
    for n, arxiv_id in enumerate(ids):
        arxiv.add_entry(arxiv_id, 2, f"Batched paper {n}", f"Abstract of batched paper {n}.")
    for user in range(40):
        fake_telegram.user_sends(300 + user, f"/paper {ids[user % 8]}")
    for user in range(40):
        sent = await fake_telegram.wait_for_sent_to(300 + user, 1, timeout=10.0)
        if sent[0]["text"] == WORKING:  # a lookup that waited its turn past the interim bound
            sent = await fake_telegram.wait_for_sent_to(300 + user, 2, timeout=10.0)
        assert sent[-1]["text"].startswith(f"中文：Batched paper {user % 8}")
    assert arxiv.count("api") <= 8
    assert sorted(i for ids_asked in arxiv.api_id_lists() for i in ids_asked) == sorted(ids)
