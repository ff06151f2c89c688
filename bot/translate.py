"""Translation by an OpenAI-compatible LLM: the prompt, the call with retries, answer validation, cache use.

How one paper is translated:

    Translator.translate(paper)
     ├── in flight already?  -> await the same task (single-flight per model + paper version)
     ├── in the Store?       -> the cached Translation (no LLM call)
     ├── failed lately?      -> TranslationError at once (answered failures are remembered FAILURE_TTL_SECONDS)
     └── LLM, within the concurrency semaphore, up to settings.max_attempts attempts:
          POST {base_url}/chat/completions
           ├── 400/422 with response_format -> ask again without it, and never send it again
           ├── 401/403                      -> TranslationError at once (bad key; never retried)
           ├── 429                          -> retry after Retry-After (else exponential backoff)
           ├── 408/5xx, timeout, transport  -> retry after exponential backoff
           └── 200 -> extract the JSON object -> validate_answer -> check_translation -> Translation (cached)
                      unusable answer       -> retry after exponential backoff

Every request is counted once, when it is made, in the shared LLM statistics (with the tokens the server
reports, when that number is sane).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from bot.answer_check import check_translation
from bot.clock import Clock, utc_now
from bot.config import LLMSettings
from bot.errors import TranslationError
from bot.models import Paper, Translation
from bot.retrying import Retryable, RetryPolicy, Sleep, retry_after
from bot.store import Store, translation_key
from bot.store.stats import Stats

logger = logging.getLogger(__name__)
MAX_REASONS_REMEMBERED = 100  # distinct failure reasons logged once each (then forgotten, and logged again)

ANSWER_KEYS = ("title_zh", "tldr_zh", "abstract_zh", "tldr_en")
REQUIRED_KEYS = ("title_zh", "tldr_zh", "abstract_zh")
TEMPERATURE = 0.2
BACKOFF_BASE_SECONDS = 1.0
REASON_MAX_CHARS = 200
FAILURE_TTL_SECONDS = 3600  # a failed paper is not asked for again (and billed again) for this long
MAX_SANE_TOKENS = 10_000_000  # a token count reported above this (or below 1) is a server bug, not usage

SYSTEM_PROMPT = """\
You translate arXiv papers from English into Simplified Chinese for researchers.
You receive a paper's English title and abstract. Answer with one JSON object with exactly these keys:
"title_zh": the title translated into Chinese;
"tldr_zh": one Chinese sentence saying what the paper does and finds;
"abstract_zh": a complete Chinese translation of the whole abstract, every sentence, nothing omitted or \
summarised;
"tldr_en": one English sentence saying what the paper does and finds.
Rules:
- Keep LaTeX such as $L_1$ or $\\mathcal{O}(n \\log n)$ exactly as written, dollar signs included.
- Keep numbers, model names, method names, dataset names and people's names unchanged; do not translate them.
- Use no Markdown: no bold, no headings, no lists, no code fences.
- Answer with plain JSON only, nothing before or after the object; inside JSON strings write every \
backslash as \\\\ as JSON requires.
"""

_DECODER = json.JSONDecoder(strict=False)
_INVALID_ESCAPE = re.compile(r'\\(?![\\/"bfnrtu])')


class GaveUp(TranslationError):
    """No attempt gave a translation; `billed` is False when the server only refused or failed (429, 5xx, down)."""

    def __init__(self, message: str, status: int | None, billed: bool) -> None:
        super().__init__(message, status=status)
        self.billed = billed


class _AttemptFailed(Retryable):
    """One attempt failed: why, with which HTTP status, whether another may help, after how long, and if billed."""

    def __init__(
        self,
        reason: str,
        status: int | None = None,
        *,
        retry: bool = True,
        delay: float | None = None,
        billed: bool = True,
    ):
        super().__init__(reason, delay)
        self.status = status
        self.retry = retry
        self.billed = billed

    def to_error(self, attempts: int) -> GaveUp:
        """The user-facing error once no more attempts will be made."""
        suffix = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
        return GaveUp(self.reason + suffix, self.status, self.billed)


def build_messages(paper: Paper) -> list[dict[str, str]]:
    """The system and user messages asking for one paper's translation."""
    title = " ".join(paper.title.split())
    user = f"Title: {title}\n\nAbstract:\n{paper.abstract.strip()}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _decode_first_object(text: str) -> dict[str, object] | None:
    """The first JSON object in `text` that parses, starting at the leftmost possible `{` (the outermost)."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def extract_json_object(text: str) -> dict[str, object]:
    """Take the JSON object out of an answer that may wrap it in a code fence or in prose."""
    found = _decode_first_object(text)
    if found is None:
        # LLMs sometimes leave LaTeX backslashes (\alpha) unescaped; double those that are no JSON escape.
        found = _decode_first_object(_INVALID_ESCAPE.sub(r"\\\\", text))
    if found is None:
        raise TranslationError("the LLM's answer contains no JSON object")
    return found


def validate_answer(data: object) -> Translation:
    """Check the answer has the four keys as strings (three non-empty) and build a Translation."""
    if not isinstance(data, dict):
        raise TranslationError("the LLM's answer is not a JSON object")
    missing = [key for key in ANSWER_KEYS if key not in data]
    if missing:
        raise TranslationError(f"the LLM's answer lacks {', '.join(missing)}")
    values: dict[str, str] = {}
    for key in ANSWER_KEYS:
        value = data[key]
        if not isinstance(value, str):
            raise TranslationError(f"the LLM's answer has a {type(value).__name__} as {key}, not a string")
        values[key] = value.strip()
    empty = [key for key in REQUIRED_KEYS if not values[key]]
    if empty:
        raise TranslationError(f"the LLM's answer has an empty {', '.join(empty)}")
    return Translation(**values)


def _one_line(text: str, secret: str) -> str:
    """Squeeze text onto one short line with the secret blanked out."""
    line = " ".join(text.split())
    if secret:
        line = line.replace(secret, "***")
    return line[:REASON_MAX_CHARS]


def _error_detail(response: httpx.Response) -> str:
    """The server's own error message from an OpenAI-style error body, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return message if isinstance(message, str) else response.text


def _message_content(body: Any) -> str:
    """The assistant message text of a chat-completions answer."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise _AttemptFailed("the LLM's answer has no choices[0].message.content") from None
    if not isinstance(content, str) or not content.strip():
        raise _AttemptFailed("the LLM answered with an empty message")
    return content


def reported_tokens(response: httpx.Response) -> int | None:
    """The answer's usage.total_tokens: 0 when not reported, None when reported outside 1..MAX_SANE_TOKENS."""
    if response.status_code != 200:
        return 0
    try:
        body = response.json()
    except ValueError:
        return 0
    usage = body.get("usage") if isinstance(body, dict) else None
    total = usage.get("total_tokens") if isinstance(usage, dict) else None
    if total is None:
        return 0
    if not isinstance(total, int) or isinstance(total, bool) or not 0 < total <= MAX_SANE_TOKENS:
        return None
    return total


class Translator:
    """Translates papers with one LLM, caching each paper version's translation in the Store."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: LLMSettings,
        store: Store,
        *,
        stats: Stats | None = None,
        clock: Clock = utc_now,
        failure_ttl: int = FAILURE_TTL_SECONDS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._settings = settings
        self._store = store
        self._stats = stats
        self._clock = clock
        self._failure_ttl = failure_ttl
        self._sleep = sleep
        self._insane_usage_logged = False
        self._reasons_logged: set[str] = set()
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        self._timeout = httpx.Timeout(settings.timeout)
        self._semaphore = asyncio.Semaphore(max(1, settings.concurrency))
        self._policy = RetryPolicy(max(1, settings.max_attempts), BACKOFF_BASE_SECONDS)
        self._in_flight: dict[str, asyncio.Task[Translation]] = {}
        self._response_format = True
        self.calls = 0
        self.tokens_used = 0

    def _level_for(self, reason: str) -> int:
        """WARNING the first time a reason is seen, DEBUG after: a wrong key is one line, not one per paper."""
        if reason in self._reasons_logged:
            return logging.DEBUG
        if len(self._reasons_logged) >= MAX_REASONS_REMEMBERED:
            self._reasons_logged.clear()
        self._reasons_logged.add(reason)
        return logging.WARNING

    @property
    def model(self) -> str:
        """The model name sent to the server, also part of the cache key."""
        return self._settings.model

    async def cached(self, paper: Paper) -> Translation | None:
        """The cached translation of this paper version, without asking the LLM."""
        return await self._store.get_translation(self.model, paper.versioned_id)

    async def cached_many(self, papers: Sequence[Paper]) -> list[Translation | None]:
        """The cached translations of these papers in one round trip, without asking the LLM."""
        return await self._store.get_translations(self.model, [p.versioned_id for p in papers])

    def saturated(self) -> bool:
        """True while translations fill every LLM slot: a new one would have to queue."""
        return len(self._in_flight) >= max(1, self._settings.concurrency)

    def in_flight(self, paper: Paper) -> bool:
        """True while this paper version is being translated (a new request for it costs nothing more)."""
        return translation_key(self.model, paper.versioned_id) in self._in_flight

    async def failed_lately(self, paper: Paper) -> bool:
        """True when this paper version's translation failed within the last FAILURE_TTL_SECONDS."""
        return await self._store.get_translation_failure(self.model, paper.versioned_id) is not None

    async def translate(self, paper: Paper) -> Translation:
        """The paper's translation from the cache, else from the LLM; raises TranslationError."""
        key = translation_key(self.model, paper.versioned_id)
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._cached_or_new(paper))
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        # shield: one caller being cancelled must not cancel the translation the others are waiting for.
        return await asyncio.shield(task)

    async def translate_many(
        self,
        papers: Sequence[Paper],
        on_done: Callable[[Paper, Translation | TranslationError], None] | None = None,
    ) -> dict[str, Translation | TranslationError]:
        """Translate papers concurrently; each paper's result or error by versioned id, never raising."""

        async def one(paper: Paper) -> tuple[str, Translation | TranslationError]:
            """Translate one paper, turning its failure into a value and reporting progress."""
            result: Translation | TranslationError
            try:
                result = await self.translate(paper)
            except TranslationError as exc:
                result = exc
            if on_done is not None:
                on_done(paper, result)
            return paper.versioned_id, result

        return dict(await asyncio.gather(*(one(paper) for paper in papers)))

    def _forget(self, key: str, task: asyncio.Task[Translation]) -> None:
        """Drop a finished task from the in-flight table, marking its exception as seen."""
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            task.exception()

    async def _cached_or_new(self, paper: Paper) -> Translation:
        """The cached translation, else a new one from the LLM, cached before it is returned.

        A failure is remembered for a while, so asking again soon costs no LLM call.
        """
        found = await self.cached(paper)
        if found is not None:
            return found
        reason = await self._store.get_translation_failure(self.model, paper.versioned_id)
        if reason is not None:
            raise TranslationError(f"the translation failed within the last hour ({reason})")
        try:
            translation = await self._call(paper)
        except GaveUp as exc:
            if exc.billed:  # an outage (429, 5xx, unreachable) cost nothing: the next request tries again
                await self._store.put_translation_failure(self.model, paper.versioned_id, str(exc), self._failure_ttl)
            raise
        await self._store.put_translation(self.model, paper.versioned_id, translation, self._settings.cache_ttl_seconds)
        return translation

    async def _call(self, paper: Paper) -> Translation:
        """Ask the LLM within the concurrency bound, retrying failures by the retry policy."""
        attempts = self._policy.max_attempts
        async with self._semaphore:
            async for trial in self._policy.retrying(self._sleep):
                with trial:
                    try:
                        return await self._attempt(paper)
                    except _AttemptFailed as failure:
                        number = trial.retry_state.attempt_number
                        logger.log(
                            self._level_for(failure.reason),
                            "translation of %s failed (attempt %d of %d): %s",
                            paper.versioned_id,
                            number,
                            attempts,
                            failure.reason,
                        )
                        if not failure.retry or number == attempts:
                            raise failure.to_error(number) from None
                        raise
        raise AssertionError("unreachable: tenacity returns or raises")

    async def _attempt(self, paper: Paper) -> Translation:
        """One attempt: a request (repeated once without response_format if the server refuses it)."""
        with_format = self._response_format
        response = await self._post(paper, with_format=with_format)
        if with_format and response.status_code in (400, 422):
            if self._response_format:
                self._response_format = False
                logger.info("the LLM refused response_format (HTTP %d); not sending it again", response.status_code)
            response = await self._post(paper, with_format=False)
        self._check_status(response)
        return self._read_answer(response, paper)

    async def _post(self, paper: Paper, *, with_format: bool) -> httpx.Response:
        """Send one chat-completions request; transport failures and timeouts become retryable failures."""
        body: dict[str, object] = {
            "model": self.model,
            "messages": build_messages(paper),
            "temperature": TEMPERATURE,
        }
        if with_format:
            body["response_format"] = {"type": "json_object"}
        response = None
        try:
            response = await self._http.post(self._url, json=body, headers=self._headers(), timeout=self._timeout)
            return response
        except httpx.TimeoutException:
            raise _AttemptFailed(f"the LLM did not answer within {self._settings.timeout:g} s") from None
        except httpx.HTTPError as exc:
            detail = _one_line(str(exc), self._settings.api_key.reveal())
            raise _AttemptFailed(f"cannot reach the LLM: {type(exc).__name__}: {detail}", billed=False) from None
        finally:
            await self._count_request(response)

    async def _count_request(self, response: httpx.Response | None) -> None:
        """Count one request made (answered or not) and the tokens its answer reports, here and in the stats."""
        tokens = reported_tokens(response) if response is not None else 0
        if tokens is None:
            tokens = 0
            if not self._insane_usage_logged:
                self._insane_usage_logged = True
                logger.warning("the LLM reported a token count outside 1..%d; ignoring such counts", MAX_SANE_TOKENS)
        self.calls += 1
        self.tokens_used += tokens
        if self._stats is not None:
            await self._stats.record_llm(self._clock().strftime("%Y-%m"), 1, tokens)

    def _headers(self) -> dict[str, str]:
        """The Authorization header, or none when the key is empty (local servers)."""
        key = self._settings.api_key.reveal()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _check_status(self, response: httpx.Response) -> None:
        """Turn an HTTP error status into a failure that is retried or not."""
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (401, 403):
            raise _AttemptFailed(f"the LLM server rejected the API key (HTTP {status})", status, retry=False)
        if status == 429:
            raise _AttemptFailed(
                "the LLM server's rate limit was hit (HTTP 429)", status, delay=retry_after(response), billed=False
            )
        if status == 408 or status >= 500:
            raise _AttemptFailed(f"the LLM server failed (HTTP {status})", status, billed=False)
        detail = _one_line(_error_detail(response), self._settings.api_key.reveal())
        raise _AttemptFailed(f"the LLM server refused the request (HTTP {status}): {detail}", status, retry=False)

    def _read_answer(self, response: httpx.Response, paper: Paper) -> Translation:
        """Turn the answer's message into a Translation checked against the paper."""
        try:
            body = response.json()
        except ValueError:
            raise _AttemptFailed("the LLM server answered with a body that is not JSON") from None
        try:
            return check_translation(validate_answer(extract_json_object(_message_content(body))), paper)
        except TranslationError as exc:
            raise _AttemptFailed(str(exc)) from None
