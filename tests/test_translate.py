"""Tests of bot.translate against a fake OpenAI-compatible server and a real Redis."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from bot.config import LLMSettings, Secret
from bot.errors import TranslationError
from bot.models import Paper, Translation
from bot.store import Store
from bot.translate import SYSTEM_PROMPT, Translator, build_messages, extract_json_object, validate_answer
from tests.fakes.llm_server import (
    NOT_JSON,
    Behaviour,
    FakeLLM,
    fenced,
    fixture_fake_llm,  # noqa: F401  # the fake_llm fixture, used by name (moves to conftest later)
    with_prose,
)
from tests.fakes.loopback import RecordingSleep

API_KEY = "sk-test-very-secret-key"
VALID = {"title_zh": " 标题 ", "tldr_zh": "一句话。", "abstract_zh": "摘要。", "tldr_en": "In short."}

TranslatorFactory = Callable[..., Translator]


def make_paper(n: int = 1, version: int | None = 1, title: str | None = None) -> Paper:
    """A paper whose title and abstract carry its number, LaTeX and a number to keep."""
    return Paper(
        arxiv_id=f"2402.{n:05d}",
        title=title or f"Sparse $L_1$ regression number {n}",
        abstract=f"We study $L_1$ regression on 42 datasets (paper {n}). It works.",
        url=f"https://arxiv.org/abs/2402.{n:05d}",
        version=version,
    )


@pytest.fixture(name="sleeps")
def fixture_sleeps() -> RecordingSleep:
    """A recording no-op sleep."""
    return RecordingSleep()


@pytest.fixture(name="http")
async def fixture_http() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client that ignores proxy settings of the environment."""
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture(name="settings")
def fixture_settings(fake_llm: FakeLLM) -> LLMSettings:
    """LLM settings pointing at the fake server."""
    return LLMSettings(
        base_url=fake_llm.url, api_key=Secret(API_KEY), model="fake-model", concurrency=4, timeout=5.0, max_attempts=3
    )


@pytest.fixture(name="make_translator")
def fixture_make_translator(
    http: httpx.AsyncClient, settings: LLMSettings, store: Store, sleeps: RecordingSleep
) -> TranslatorFactory:
    """Build Translators on the fake server, optionally with changed settings."""

    def make(**changes: Any) -> Translator:
        """A Translator whose settings differ from the default ones by `changes`."""
        return Translator(http, replace(settings, **changes), store, sleep=sleeps)

    return make


@pytest.fixture(name="translator")
def fixture_translator(make_translator: TranslatorFactory) -> Translator:
    """A Translator with the default test settings."""
    return make_translator()


async def test_translates_paper_with_expected_request(translator: Translator, fake_llm: FakeLLM) -> None:
    """A paper is translated by one chat-completions request carrying model, prompt, paper text and key."""
    paper = make_paper()
    translation = await translator.translate(paper)
    assert translation.title_zh == "中文：" + paper.title
    assert translation.abstract_zh == "中文摘要：" + paper.abstract
    assert translation.tldr_en == "In short: " + paper.title
    [request] = fake_llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-model"
    assert request.body["temperature"] == 0.2
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.body["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user"
    assert paper.title in user["content"]
    assert paper.abstract in user["content"]
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert translator.calls == 1


async def test_empty_key_sends_no_authorization(make_translator: TranslatorFactory, fake_llm: FakeLLM) -> None:
    """With an empty API key (a local server) no Authorization header is sent."""
    await make_translator(api_key=Secret("")).translate(make_paper())
    assert "authorization" not in fake_llm.requests[0].headers


def test_prompt_asks_for_keys_and_keeping_latex_and_numbers() -> None:
    """The system prompt asks for the four keys, full translation, unchanged LaTeX, numbers and names."""
    for key in ("title_zh", "tldr_zh", "abstract_zh", "tldr_en"):
        assert f'"{key}"' in SYSTEM_PROMPT
    for phrase in ("$L_1$", "exactly as written", "numbers", "dataset names", "people's names", "nothing omitted"):
        assert phrase in SYSTEM_PROMPT
    assert "no Markdown" in SYSTEM_PROMPT.replace("No Markdown", "no Markdown")
    assert "plain JSON only" in SYSTEM_PROMPT


def test_user_message_holds_title_and_abstract() -> None:
    """The user message carries the paper's English title and whole abstract."""
    paper = make_paper(title="A  title\n  over two lines")
    system, user = build_messages(paper)
    assert system["role"] == "system"
    assert "A title over two lines" in user["content"]
    assert paper.abstract in user["content"]


async def test_cache_avoids_second_call(
    translator: Translator, make_translator: TranslatorFactory, fake_llm: FakeLLM
) -> None:
    """A translated paper is served from Redis: again, and by another Translator, without an LLM call."""
    paper = make_paper()
    first = await translator.translate(paper)
    assert await translator.translate(paper) == first
    other = make_translator()
    assert await other.cached(paper) == first
    assert await other.translate(paper) == first
    assert other.calls == 0
    assert fake_llm.count == 1


async def test_versions_are_cached_separately(translator: Translator, fake_llm: FakeLLM) -> None:
    """A new version of a paper is a different cache entry and is translated anew."""
    await translator.translate(make_paper(version=1))
    assert await translator.cached(make_paper(version=2)) is None
    await translator.translate(make_paper(version=2))
    assert fake_llm.count == 2


async def test_cached_makes_no_call(translator: Translator, fake_llm: FakeLLM) -> None:
    """Asking only the cache for an untranslated paper answers None and calls no LLM."""
    assert await translator.cached(make_paper()) is None
    assert fake_llm.count == 0


async def test_concurrent_requests_share_one_call(translator: Translator, fake_llm: FakeLLM) -> None:
    """Ten simultaneous requests for one paper make a single LLM call and all get its translation."""
    fake_llm.delay = 0.05
    paper = make_paper()
    results = await asyncio.gather(*(translator.translate(paper) for _ in range(10)))
    assert fake_llm.count == 1
    assert all(result == results[0] for result in results)


async def test_concurrency_is_bounded(make_translator: TranslatorFactory, fake_llm: FakeLLM) -> None:
    """Twenty papers with concurrency 3 are all translated, never more than three at once at the server."""
    fake_llm.delay = 0.05
    papers = [make_paper(n) for n in range(20)]
    results = await make_translator(concurrency=3).translate_many(papers)
    assert fake_llm.max_in_flight == 3
    assert set(results) == {p.versioned_id for p in papers}
    assert all(isinstance(r, Translation) for r in results.values())
    assert fake_llm.count == 20


async def test_non_json_answer_is_retried(translator: Translator, fake_llm: FakeLLM, sleeps: RecordingSleep) -> None:
    """An answer that is not JSON is asked again after a backoff, and the next valid answer is used."""
    fake_llm.script(NOT_JSON)
    paper = make_paper()
    translation = await translator.translate(paper)
    assert translation.title_zh == "中文：" + paper.title
    assert fake_llm.count == 2
    assert sleeps.calls == [1.0]


async def test_always_invalid_fails_and_is_not_cached(
    translator: Translator, fake_llm: FakeLLM, sleeps: RecordingSleep, store: Store
) -> None:
    """A never-usable LLM fails after max_attempts; the failure is remembered for an hour, costing no more calls."""
    fake_llm.script(NOT_JSON, NOT_JSON, NOT_JSON)
    paper = make_paper()
    with pytest.raises(TranslationError, match="no JSON object") as caught:
        await translator.translate(paper)
    assert caught.value.status is None
    assert "\n" not in str(caught.value)
    assert fake_llm.count == 3
    assert sleeps.calls == [1.0, 2.0]
    assert await translator.cached(paper) is None
    with pytest.raises(TranslationError, match="failed within the last hour"):
        await translator.translate(paper)
    assert fake_llm.count == 3 and await translator.failed_lately(paper)
    await store.redis_for_tests.delete(*await store.redis_for_tests.keys("axd:trfail:*"))  # the hour is over
    assert (await translator.translate(paper)).title_zh == "中文：" + paper.title


async def test_server_error_is_retried(translator: Translator, fake_llm: FakeLLM) -> None:
    """An HTTP 503 is retried and the following success is used."""
    fake_llm.script(Behaviour(status=503))
    await translator.translate(make_paper())
    assert fake_llm.count == 2


async def test_persistent_server_error_carries_status(translator: Translator, fake_llm: FakeLLM) -> None:
    """When every attempt answers 503 the TranslationError carries status 503."""
    fake_llm.script(*[Behaviour(status=503)] * 3)
    with pytest.raises(TranslationError, match="503") as caught:
        await translator.translate(make_paper())
    assert caught.value.status == 503


async def test_rate_limit_honours_retry_after(
    translator: Translator, fake_llm: FakeLLM, sleeps: RecordingSleep
) -> None:
    """An HTTP 429 waits the server's Retry-After seconds before asking again."""
    fake_llm.script(Behaviour(status=429, headers={"Retry-After": "7"}))
    await translator.translate(make_paper())
    assert sleeps.calls == [7.0]
    assert fake_llm.count == 2


async def test_timeout_fails(make_translator: TranslatorFactory, fake_llm: FakeLLM) -> None:
    """An LLM slower than the timeout on every attempt gives a TranslationError without status."""
    fake_llm.delay = 1.0
    translator = make_translator(timeout=0.2, max_attempts=2)
    with pytest.raises(TranslationError, match=r"did not answer within 0\.2 s") as caught:
        await translator.translate(make_paper())
    assert caught.value.status is None
    assert translator.calls == 2


async def test_bad_key_is_not_retried(
    translator: Translator, fake_llm: FakeLLM, sleeps: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    """An HTTP 401 fails at once with a message and logs that never show the key."""
    fake_llm.script(Behaviour(status=401))
    with caplog.at_level(logging.WARNING, logger="bot.translate"), pytest.raises(TranslationError) as caught:
        await translator.translate(make_paper())
    assert caught.value.status == 401
    assert API_KEY not in str(caught.value)
    assert fake_llm.count == 1
    assert sleeps.calls == []
    assert "2402.00001v1" in caplog.text
    assert API_KEY not in caplog.text


async def test_response_format_fallback_is_remembered(translator: Translator, fake_llm: FakeLLM) -> None:
    """A server refusing response_format is asked again without it, and later papers go straight without it."""
    fake_llm.reject_response_format = True
    first = await translator.translate(make_paper(1))
    second = await translator.translate(make_paper(2))
    assert first.title_zh.endswith("number 1") and second.title_zh.endswith("number 2")
    assert ["response_format" in r.body for r in fake_llm.requests] == [True, False, False]
    assert translator.calls == 3


async def test_other_client_error_is_not_retried(translator: Translator, fake_llm: FakeLLM) -> None:
    """An HTTP 404 (a wrong base URL or model) fails at once with the server's message."""
    fake_llm.reject_response_format = True
    fake_llm.script(Behaviour(status=404))
    with pytest.raises(TranslationError, match=r"HTTP 404\): scripted failure") as caught:
        await translator.translate(make_paper())
    assert caught.value.status == 404
    assert fake_llm.count == 2


@pytest.mark.parametrize("wrap", [fenced, with_prose], ids=["fenced", "prose"])
async def test_wrapped_json_answer_is_parsed(
    translator: Translator, fake_llm: FakeLLM, wrap: Callable[[str], str]
) -> None:
    """A JSON answer inside a ```json fence or surrounded by prose is still used."""
    fake_llm.script(Behaviour(content=wrap))
    paper = make_paper()
    assert (await translator.translate(paper)).title_zh == "中文：" + paper.title
    assert fake_llm.count == 1


async def test_missing_key_is_retried(translator: Translator, fake_llm: FakeLLM) -> None:
    """An answer lacking abstract_zh is rejected and asked again."""
    fake_llm.script(Behaviour(answer={"title_zh": "标题", "tldr_zh": "一句话", "tldr_en": ""}))
    await translator.translate(make_paper())
    assert fake_llm.count == 2


async def test_tokens_are_counted(translator: Translator, fake_llm: FakeLLM) -> None:
    """The total tokens reported by the server are added up, and answers without usage add nothing."""
    fake_llm.script(Behaviour(), Behaviour(usage=None))
    await translator.translate_many([make_paper(1), make_paper(2)])
    assert translator.tokens_used == 150


async def test_translate_many_reports_failures_per_paper(translator: Translator, fake_llm: FakeLLM) -> None:
    """One failing paper yields its error while the others are translated, with progress after each."""
    fake_llm.script_for("number 2", Behaviour(status=500))
    papers = [make_paper(n) for n in range(1, 5)]
    done: list[str] = []
    results = await translator.translate_many(papers, on_done=lambda paper, _: done.append(paper.versioned_id))
    failed = results.pop("2402.00002v1")
    assert isinstance(failed, TranslationError) and failed.status == 500
    assert all(isinstance(r, Translation) for r in results.values()) and len(results) == 3
    assert sorted(done) == sorted(p.versioned_id for p in papers)


def test_validate_answer_accepts_and_strips() -> None:
    """A valid answer becomes a Translation with whitespace stripped and extra keys ignored."""
    translation = validate_answer({**VALID, "extra": 1})
    assert translation == Translation("标题", "一句话。", "摘要。", "In short.")
    assert validate_answer({**VALID, "tldr_en": ""}).tldr_en == ""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([VALID], "not a JSON object"),
        ({k: v for k, v in VALID.items() if k != "abstract_zh"}, "lacks abstract_zh"),
        ({**VALID, "title_zh": 3}, "int as title_zh"),
        ({**VALID, "tldr_zh": "  "}, "empty tldr_zh"),
    ],
    ids=["list", "missing", "wrong-type", "empty"],
)
def test_validate_answer_rejects(data: object, reason: str) -> None:
    """An answer that is no object, lacks a key, has a non-string or an empty value is rejected."""
    with pytest.raises(TranslationError, match=reason):
        validate_answer(data)


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        'Here you go: {"a": 1} Hope it helps {really}.',
        'Note {this}: {"a": 1}',
    ],
    ids=["plain", "fenced", "prose", "brace-in-prose"],
)
def test_extract_json_object(text: str) -> None:
    """The outermost JSON object is taken out of fences and prose."""
    assert extract_json_object(text) == {"a": 1}


def test_extract_json_object_keeps_nested_and_latex() -> None:
    """A nested object is returned whole, and unescaped LaTeX backslashes are kept as written."""
    assert extract_json_object('x {"a": {"b": 2}} y') == {"a": {"b": 2}}
    assert extract_json_object('{"t": "$\\alpha$ and $\\\\beta$"}') == {"t": "$\\alpha$ and $\\beta$"}


def test_extract_json_object_without_object_fails() -> None:
    """Text without any JSON object raises TranslationError."""
    with pytest.raises(TranslationError):
        extract_json_object("no json here [1, 2]")


async def test_cancelled_waiter_does_not_cancel_shared_call(translator: Translator, fake_llm: FakeLLM) -> None:
    """A caller giving up on a paper does not cancel the translation another caller is waiting for."""
    fake_llm.delay = 0.1
    paper = make_paper()
    impatient = asyncio.create_task(translator.translate(paper))
    patient = asyncio.create_task(translator.translate(paper))
    await asyncio.sleep(0.02)
    impatient.cancel()
    assert (await patient).title_zh == "中文：" + paper.title
    assert fake_llm.count == 1


async def test_unreachable_server_fails_after_retries(
    make_translator: TranslatorFactory, sleeps: RecordingSleep
) -> None:
    """A server that cannot be reached gives a TranslationError without status after every attempt."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    translator = make_translator(base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(TranslationError, match="cannot reach the LLM: ConnectError") as caught:
        await translator.translate(make_paper())
    assert caught.value.status is None
    assert translator.calls == 3
    assert sleeps.calls == [1.0, 2.0]


async def test_hundreds_of_uncached_papers_do_not_exhaust_redis_connections(
    fake_llm: FakeLLM, redis_url: Callable[[], str]
) -> None:
    """Translating 300 uncached papers at once finishes: cache lookups wait for a connection, none fails."""
    store = Store.from_url(redis_url())
    try:
        await store.redis_for_tests.flushdb()
        settings = LLMSettings(base_url=fake_llm.url, api_key=Secret("k"), model="m", concurrency=8)
        async with httpx.AsyncClient(trust_env=False) as http:
            results = await Translator(http, settings, store).translate_many([make_paper(n) for n in range(300)])
        assert len(results) == 300 and all(isinstance(r, Translation) for r in results.values())
    finally:
        await store.close()
