"""The use cases: today's digest for a set of filters, and one paper's bilingual abstract.

Both can be bounded in time (`within` seconds): past the bound they answer with what there is, papers
still being translated shown in English and marked (their translations go on and are cached), and an
arXiv that does not answer in time raises SourceUnavailable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Protocol, TypeVar

from bot.arxiv_client import ArxivClient
from bot.arxiv_source import ArxivId, parse_arxiv_id
from bot.chat_ranking import ChatRanking
from bot.clock import Clock, utc_now
from bot.digest import TranslationResults, assemble_digest, select_papers
from bot.errors import SourceUnavailable, TranslationError
from bot.filters import Filter
from bot.filters.feeds import feeds_for
from bot.models import Digest, DigestItem, Listing, Paper, Translation, TranslationStatus
from bot.store import Store
from bot.store.budget import TranslationBudget
from bot.store.stats import Stats
from bot.translate import Translator

T = TypeVar("T")
ARXIV_SILENT = "arXiv is not answering; try again later"


class ProgressSink(Protocol):
    """Receives the progress of a long translation run (a bar on a terminal, lines elsewhere)."""

    def start(self, total: int) -> None:
        """Announce how many steps will follow."""

    def step(self, note: str = "") -> None:
        """Count one finished step."""


@dataclass(frozen=True)
class DigestOutcome:
    """A digest together with what it was made from, so callers can explain an empty one."""

    digest: Digest
    listing: Listing

    @property
    def announced(self) -> int:
        """How many papers arXiv announced in the fetched categories."""
        return len(self.listing.papers)


@dataclass(frozen=True)
class Requester:
    """Who asks for a paper: the user and chat whose translation budgets it counts against, unless exempt."""

    user: str
    chat: str
    exempt: bool = False

    @property
    def holders(self) -> tuple[str, str]:
        """The budget holders this request counts against."""
        return f"user:{self.user}", f"chat:{self.chat}"


@dataclass(frozen=True)
class PaperAnswer:
    """A paper's item, and when the requester's translation budget refills if it kept the paper untranslated."""

    item: DigestItem
    resumes_at: datetime | None = None


class Deadline:
    """A moment on the event loop's clock by which an answer is due; None: no bound."""

    def __init__(self, within: float | None) -> None:
        self._at = None if within is None else asyncio.get_running_loop().time() + within

    def left(self) -> float | None:
        """Seconds left (never negative), or None without a bound."""
        return None if self._at is None else max(0.0, self._at - asyncio.get_running_loop().time())

    async def arxiv(self, work: Awaitable[T]) -> T:
        """Wait for arXiv work until the deadline; SourceUnavailable when arXiv has not answered by then."""
        try:
            return await asyncio.wait_for(work, self.left())
        except TimeoutError:
            raise SourceUnavailable(ARXIV_SILENT) from None


@dataclass
class DigestService:
    """Fetches, filters and translates; shared by the CLI, the chat handlers and the scheduler."""

    source: ArxivClient
    store: Store
    translator: Translator | None
    stats: Stats | None = None
    clock: Clock = utc_now
    budget: TranslationBudget | None = None

    @cached_property
    def ranking(self) -> ChatRanking:
        """Each chat's ratings, and its digests ranked and limited (one per service: day indexes are shared)."""
        return ChatRanking(self.store.ratings, self.clock)

    @property
    def translations_on(self) -> bool:
        """True when an LLM is configured."""
        return self.translator is not None

    async def listing(
        self, categories: Sequence[str], include_replacements: bool = False, *, fresh: bool = False
    ) -> Listing:
        """The latest announcement for these categories: fetched once per half hour and shared by all readers."""
        cacheable = not include_replacements
        if cacheable and not fresh and (cached := await self.store.get_listing(list(categories))) is not None:
            return cached
        listing = await self.source.fetch_listing(categories, include_replacements=include_replacements)
        await self.store.put_papers(listing.papers)
        if cacheable:
            await self.store.put_listing(listing)
        return listing

    async def translate(
        self, papers: Sequence[Paper], progress: ProgressSink | None = None, *, within: float | None = None
    ) -> TranslationResults | None:
        """Translate papers once each (cached and shared); None when translations are off.

        With `within`, papers not translated by then are left out of the results (their translations go on).
        """
        if self.translator is None:
            return None
        if within is not None:
            return await self._translate_within(papers, within)
        if progress is None:
            results = await self.translator.translate_many(papers)
        else:
            progress.start(len(papers))

            def on_done(paper: Paper, result: Translation | TranslationError) -> None:
                progress.step("" if isinstance(result, Translation) else f"{paper.arxiv_id} failed: {result}")

            results = await self.translator.translate_many(papers, on_done=on_done)
        return results

    async def _translate_within(self, papers: Sequence[Paper], within: float) -> TranslationResults:
        """The translations finished within `within` seconds; the others carry on in the background."""
        assert self.translator is not None
        tasks = {p.versioned_id: asyncio.ensure_future(self.translator.translate(p)) for p in papers}
        if not tasks:
            return {}
        done, pending = await asyncio.wait(tasks.values(), timeout=within)
        for task in pending:
            task.cancel()  # only this wait: translate() shields the shared translation, which is still cached
        results: dict[str, Translation | TranslationError] = {}
        for versioned_id, task in tasks.items():
            if task in done:
                error = task.exception()
                if error is not None and not isinstance(error, TranslationError):
                    raise error
                results[versioned_id] = error if isinstance(error, TranslationError) else task.result()
        return results

    async def latest_digest(
        self,
        filters: Sequence[Filter],
        categories: Sequence[str],
        *,
        include_replacements: bool = False,
        progress: ProgressSink | None = None,
        within: float | None = None,
    ) -> DigestOutcome:
        """The digest of arXiv's latest announcement in `categories`, keeping what `filters` match."""
        deadline = Deadline(within)
        listing = await deadline.arxiv(self.listing(categories, include_replacements))
        papers = select_papers(listing, filters)
        results = await self.translate(papers, progress, within=deadline.left())
        return DigestOutcome(assemble_digest(listing, papers, results), listing)

    @staticmethod
    def feed_categories(filters: Sequence[Filter]) -> tuple[str, ...]:
        """The feeds to read for these filters: their categories, or all of arXiv when one names none."""
        return feeds_for(filters)

    async def find_paper(self, arxiv_id: ArxivId) -> Paper:
        """A paper's metadata: from the recent-papers cache when it has this version, else from arXiv's API."""
        cached = await self.store.get_paper(arxiv_id.arxiv_id)
        if cached is not None and arxiv_id.version in (None, cached.version):
            return cached
        paper = await self.source.fetch_paper(arxiv_id)
        if arxiv_id.version is None:
            await self.store.put_papers([paper])
        return paper

    async def cached_items(self, papers: Sequence[Paper]) -> list[DigestItem]:
        """Digest items from the translation cache only (a paper missing there is shown in English, marked)."""
        if self.translator is None:
            return [DigestItem(p, None, TranslationStatus.OFF) for p in papers]
        cached = await self.translator.cached_many(papers)
        return [
            DigestItem(paper, tr, TranslationStatus.OK if tr is not None else TranslationStatus.FAILED)
            for paper, tr in zip(papers, cached, strict=True)
        ]

    async def paper(self, text: str) -> DigestItem:
        """One paper's bilingual abstract from an id or URL as a user typed it (no budget, no time bound)."""
        return (await self.lookup_paper(text)).item

    async def lookup_paper(
        self,
        text: str,
        requester: Requester | None = None,
        *,
        within: float | None = None,
        busy_within: float | None = None,
    ) -> PaperAnswer:
        """One paper's bilingual abstract for a requester, a new translation counted against their budget.

        Cached translations and papers that failed lately cost nothing; past `within` seconds (`busy_within`
        when every LLM slot is taken and the translation must queue) the English is answered, marked, while
        the translation goes on and is cached.
        """
        deadline = Deadline(within)
        paper = await deadline.arxiv(self.find_paper(parse_arxiv_id(text)))
        translator = self.translator
        if translator is None:
            return PaperAnswer(DigestItem(paper, None, TranslationStatus.OFF))
        if (cached := await translator.cached(paper)) is not None:
            return PaperAnswer(DigestItem(paper, cached, TranslationStatus.OK))
        if await translator.failed_lately(paper):
            return PaperAnswer(DigestItem(paper, None, TranslationStatus.FAILED))
        if (
            requester is not None
            and not requester.exempt
            and self.budget is not None
            and not translator.in_flight(paper)
        ):
            resumes_at = await self.budget.take(requester.holders, self.clock())
            if resumes_at is not None:
                return PaperAnswer(DigestItem(paper, None, TranslationStatus.LIMITED), resumes_at)
        bound = deadline.left()
        if busy_within is not None and translator.saturated() and not translator.in_flight(paper):
            bound = busy_within if bound is None else min(bound, busy_within)
        try:
            translation = await asyncio.wait_for(translator.translate(paper), bound)
        except TimeoutError:
            return PaperAnswer(DigestItem(paper, None, TranslationStatus.PENDING))
        except TranslationError:
            return PaperAnswer(DigestItem(paper, None, TranslationStatus.FAILED))
        return PaperAnswer(DigestItem(paper, translation, TranslationStatus.OK))
