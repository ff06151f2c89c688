"""A polite async client for arXiv: daily listings over RSS (httpx), paper lookups in its API (the `arxiv` package).

All requests pass one PriorityThrottle: one at a time, 3 s after the previous one ended, a listing before any
waiting lookup. `fetch_listing` fetches RSS, retried with backoff (Retry-After honoured, capped). `fetch_paper`
goes through PaperLookups: a paper answered lately is answered again from memory (RECENT_SECONDS), a lookup
already under way is shared, and every queued id goes out in one API request (`id_list`, up to MAX_BATCH ids),
retried with backoff, with ids that arrive meanwhile joining the next attempt.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

import arxiv
import httpx
import requests

from bot.arxiv_source import ArxivId, paper_from_result, parse_rss
from bot.arxiv_throttle import LISTING, LOOKUP, PriorityThrottle
from bot.errors import FeedParseError, PaperNotFound, SourceUnavailable
from bot.models import Listing, Paper
from bot.retrying import Retryable, RetryPolicy, Sleep, retry_after

log = logging.getLogger(__name__)

CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[A-Za-z]+)*)?$")
ATOM_FEED = re.compile(rb"<feed\b[^>]*http://www\.w3\.org/2005/Atom")
API_TIMEOUT = 30.0
MAX_BATCH = 50  # ids per API request: one page of results, a URL well under any length limit
RECENT_SECONDS = 600.0  # a looked-up paper is answered again from memory this long
RECENT_MAX = 10_000


def _check_category(category: str) -> str:
    """Return the category if it looks like an arXiv category (`cs.LG`, `hep-th`); ValueError if not."""
    if not CATEGORY.match(category):
        raise ValueError(f"not an arXiv category: {category!r}")
    return category


def _retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth another attempt (429 and every 5xx)."""
    return status == 429 or status >= 500


class _ApiSession:
    """One long-lived `arxiv.Client` (blocking; used from one thread at a time), with a timeout and its last answer.

    arxiv 4.0.2 has no timeout setting and hides the raw answer; its session is the private `_session`.
    """

    def __init__(self, query_url_format: str) -> None:
        self._client = arxiv.Client(page_size=MAX_BATCH, delay_seconds=0, num_retries=0)
        self._client.query_url_format = query_url_format
        self._last_body = b""
        session = getattr(self._client, "_session", None)
        if session is not None:
            original = session.request

            def request(*args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("timeout", API_TIMEOUT)
                response = original(*args, **kwargs)
                self._last_body = response.content[:4096]
                return response

            session.request = request

    def lookup(self, ids: Sequence[str]) -> list[Any]:
        """Ask the API for these ids in one request (blocking); the Results it knows, Retryable or errors."""
        self._last_body = b""
        try:
            results = list(self._client.results(arxiv.Search(id_list=list(ids), max_results=len(ids))))
        except arxiv.HTTPError as exc:
            if _retryable_status(exc.status):
                raise Retryable(f"HTTP {exc.status}") from None
            raise SourceUnavailable(f"arXiv API answered HTTP {exc.status} for {', '.join(ids)}") from None
        except (arxiv.UnexpectedEmptyPageError, requests.RequestException) as exc:
            raise Retryable(type(exc).__name__) from None
        if len(results) < len(ids) and self._last_body and not ATOM_FEED.search(self._last_body):
            raise FeedParseError(f"arXiv API sent something other than an Atom feed for {', '.join(ids)}")
        return results


def _match(wanted: ArxivId, papers: Sequence[Paper]) -> Paper | None:
    """The paper answering a lookup: the asked-for version, else the newest one arXiv returned."""
    same = [p for p in papers if p.arxiv_id == wanted.arxiv_id]
    if wanted.version is not None:
        return next((p for p in same if p.version == wanted.version), None)
    return max(same, key=lambda p: p.version or 0, default=None)


def _answer(wanted: ArxivId, papers: Sequence[Paper], *, alone: bool) -> Paper | Exception:
    """A lookup's outcome; a lone id answered with another paper gets that paper, so the caller can say so."""
    match = _match(wanted, papers)
    if match is not None:
        return match
    if alone and papers:
        return papers[0]
    return PaperNotFound(f"arXiv has no paper {wanted.versioned}")


class PaperLookups:
    """Looks papers up in arXiv's API: one request per batch of queued ids, one shared answer per id."""

    def __init__(
        self,
        api: _ApiSession,
        throttle: PriorityThrottle,
        policy: RetryPolicy,
        sleep: Sleep,
    ) -> None:
        self._api = api
        self._throttle = throttle
        self._policy = policy
        self._sleep = sleep
        self._answers: dict[str, asyncio.Future[Paper]] = {}  # by versioned id, until answered
        self._queue: dict[str, ArxivId] = {}  # asked for, not answered yet, in order
        self._attempts: dict[str, int] = {}
        self._runner: asyncio.Task[None] | None = None
        self._recent: dict[str, tuple[float, Paper]] = {}  # by versioned id: when answered, and the paper
        self.requests = 0

    async def fetch(self, arxiv_id: ArxivId) -> Paper:
        """The paper, from a recent or running lookup of this id or a new one; never cancels a running lookup."""
        key = arxiv_id.versioned
        recent = self._recent.get(key)
        if recent is not None and time.monotonic() - recent[0] < RECENT_SECONDS:
            return recent[1]
        answer = self._answers.get(key)
        if answer is None:
            answer = asyncio.get_running_loop().create_future()
            answer.add_done_callback(lambda done: done.cancelled() or done.exception())  # nobody may be left
            self._answers[key] = answer
            self._queue[key] = arxiv_id
            if self._runner is None or self._runner.done():
                self._runner = asyncio.create_task(self._run())
        return await asyncio.shield(answer)

    async def _run(self) -> None:
        """Send the queue in batches until it is empty."""
        while self._queue:
            batch = list(self._queue.values())[:MAX_BATCH]
            try:
                papers = await self._request(batch)
            except Retryable as failure:
                await self._retry_later(batch, failure)
                continue
            except SourceUnavailable as error:
                self._settle({wanted.versioned: error for wanted in batch})
                continue
            self._settle({wanted.versioned: _answer(wanted, papers, alone=len(batch) == 1) for wanted in batch})

    async def _request(self, batch: Sequence[ArxivId]) -> list[Paper]:
        """One API request for the batch, in its turn; a bug becomes SourceUnavailable so no waiter hangs."""
        async with self._throttle.slot(LOOKUP):
            self.requests += 1
            try:
                results = await asyncio.to_thread(self._api.lookup, [wanted.versioned for wanted in batch])
            except (Retryable, SourceUnavailable):
                raise
            except Exception as exc:
                log.exception("arXiv API lookup failed")
                raise SourceUnavailable(f"arXiv API lookup failed: {type(exc).__name__}") from None
        return [paper_from_result(result) for result in results]

    async def _retry_later(self, batch: Sequence[ArxivId], failure: Retryable) -> None:
        """Count a failed attempt for the batch, give up on ids out of attempts, and wait before the next one."""
        for wanted in batch:
            self._attempts[wanted.versioned] = self._attempts.get(wanted.versioned, 0) + 1
        attempts = max(self._attempts[wanted.versioned] for wanted in batch)
        log.info("arXiv API attempt %d for %d ids failed: %s", attempts, len(batch), failure.reason)
        most = self._policy.max_attempts
        error = SourceUnavailable(f"arXiv API unavailable: {failure.reason} after {most} attempts")
        spent = [wanted for wanted in batch if self._attempts[wanted.versioned] >= most]
        self._settle({wanted.versioned: error for wanted in spent})
        if self._queue:
            await self._sleep(self._policy.delay(attempts, failure.retry_after))

    def _settle(self, outcomes: dict[str, Paper | Exception]) -> None:
        """Answer every waiter of these ids with its paper or error and forget the ids."""
        for key, result in outcomes.items():
            self._queue.pop(key, None)
            self._attempts.pop(key, None)
            answer = self._answers.pop(key, None)
            if answer is None or answer.done():
                continue
            if isinstance(result, Paper):
                self._remember(key, result)
                answer.set_result(result)
            else:
                answer.set_exception(result)

    def _remember(self, key: str, paper: Paper) -> None:
        """Keep an answer for RECENT_SECONDS, forgetting the oldest when there are too many."""
        if len(self._recent) >= RECENT_MAX:
            del self._recent[next(iter(self._recent))]
        self._recent[key] = (time.monotonic(), paper)


class ArxivClient:
    """Reads arXiv's daily RSS listings and looks papers up in its API, politely and with the listing first."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        rss_url: str = "https://rss.arxiv.org/rss",
        api_url: str = "https://export.arxiv.org/api/query",
        min_interval: float = 3.0,
        max_attempts: int = 4,
        backoff: float = 2.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._http = http
        self._rss_url = rss_url.rstrip("/")
        self._policy = RetryPolicy(max_attempts, backoff)
        self._sleep = sleep
        self._throttle = PriorityThrottle(min_interval, sleep)
        self._lookups = PaperLookups(_ApiSession(f"{api_url}?{{}}"), self._throttle, self._policy, sleep)

    @property
    def api_requests(self) -> int:
        """How many API requests this client has made (a batch of ids is one)."""
        return self._lookups.requests

    async def fetch_listing(self, categories: Sequence[str], *, include_replacements: bool = False) -> Listing:
        """Fetch today's listing of the given categories (`cs.LG+stat.ML` in one request)."""
        if not categories:
            raise ValueError("at least one category is needed")
        joined = "+".join(_check_category(c) for c in categories)
        body = await self._with_retries("arXiv RSS", functools.partial(self._get_rss, joined))
        # A 2,000-paper feed takes a large fraction of a second to parse: not on the event loop that answers users.
        listing = await asyncio.to_thread(parse_rss, body, include_replacements=include_replacements)
        return replace(listing, categories=tuple(categories))

    async def fetch_paper(self, arxiv_id: ArxivId) -> Paper:
        """Look one paper up in the arXiv API; PaperNotFound when arXiv does not know the id."""
        return await self._lookups.fetch(arxiv_id)

    async def _get_rss(self, joined: str) -> bytes:
        """One RSS request: the body on 2xx, Retryable on 429/5xx/transport errors, else SourceUnavailable."""
        try:
            response = await self._http.get(f"{self._rss_url}/{joined}", follow_redirects=True)
        except httpx.TransportError as exc:
            raise Retryable(type(exc).__name__) from None
        if _retryable_status(response.status_code):
            raise Retryable(f"HTTP {response.status_code}", retry_after(response))
        if not response.is_success:
            raise SourceUnavailable(f"arXiv RSS answered HTTP {response.status_code} for {joined}")
        return response.content

    async def _with_retries(self, what: str, attempt: Callable[[], Awaitable[bytes]]) -> bytes:
        """Run `attempt` through the throttle (first in line), retrying Retryable failures by the policy."""
        try:
            async for trial in self._policy.retrying(self._sleep):
                with trial:
                    try:
                        async with self._throttle.slot(LISTING):
                            return await attempt()
                    except Retryable as failure:
                        log.info("%s attempt %d failed: %s", what, trial.retry_state.attempt_number, failure.reason)
                        raise
        except Retryable as failure:
            most = self._policy.max_attempts
            raise SourceUnavailable(f"{what} unavailable: {failure.reason} after {most} attempts") from None
        raise AssertionError("unreachable: tenacity returns or raises")
