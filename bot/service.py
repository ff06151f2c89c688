"""The use cases: today's digest for a set of filters, and one paper's bilingual abstract."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from bot.arxiv_source import ArxivClient, ArxivId, parse_arxiv_id
from bot.chat_ranking import ChatRanking
from bot.clock import Clock, utc_now
from bot.digest import TranslationResults, assemble_digest, select_papers
from bot.errors import TranslationError
from bot.filters import Filter
from bot.models import Digest, DigestItem, Listing, Paper, Translation, TranslationStatus
from bot.store import Store
from bot.store.ratings import RatingStore
from bot.store.stats import Stats
from bot.translate import Translator

ALL_ARCHIVES = (
    "astro-ph", "cond-mat", "cs", "econ", "eess", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math",
    "math-ph", "nlin", "nucl-ex", "nucl-th", "physics", "q-bio", "q-fin", "quant-ph", "stat",
)


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


@dataclass
class DigestService:
    """Fetches, filters and translates; shared by the CLI, the chat handlers and the scheduler."""

    source: ArxivClient
    store: Store
    translator: Translator | None
    stats: Stats | None = None
    clock: Clock = utc_now

    @cached_property
    def ranking(self) -> ChatRanking:
        """Each chat's ratings, and its digests ranked and limited (one per service: day indexes are shared)."""
        return ChatRanking(RatingStore(self.store.redis), self.clock)

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
        self, papers: Sequence[Paper], progress: ProgressSink | None = None
    ) -> TranslationResults | None:
        """Translate papers once each (cached and shared); None when translations are off."""
        if self.translator is None:
            return None
        before = self._llm_use()
        if progress is None:
            results = await self.translator.translate_many(papers)
        else:
            progress.start(len(papers))

            def on_done(paper: Paper, result: Translation | TranslationError) -> None:
                progress.step("" if isinstance(result, Translation) else f"{paper.arxiv_id} failed: {result}")

            results = await self.translator.translate_many(papers, on_done=on_done)
        await self._record_llm_use(before)
        return results

    def _llm_use(self) -> tuple[int, int]:
        """LLM requests and tokens this process has used so far."""
        return (self.translator.calls, self.translator.tokens_used) if self.translator else (0, 0)

    async def _record_llm_use(self, before: tuple[int, int]) -> None:
        """Add what the LLM was used for since `before` to the shared monthly counters."""
        if self.stats is not None:
            calls, tokens = self._llm_use()
            await self.stats.record_llm(self.clock().strftime("%Y-%m"), calls - before[0], tokens - before[1])

    async def latest_digest(
        self,
        filters: Sequence[Filter],
        categories: Sequence[str],
        *,
        include_replacements: bool = False,
        progress: ProgressSink | None = None,
    ) -> DigestOutcome:
        """The digest of arXiv's latest announcement in `categories`, keeping what `filters` match."""
        listing = await self.listing(categories, include_replacements)
        papers = select_papers(listing, filters)
        results = await self.translate(papers, progress)
        return DigestOutcome(assemble_digest(listing, papers, results), listing)

    @staticmethod
    def feed_categories(filters: Sequence[Filter]) -> tuple[str, ...]:
        """The feeds to read for these filters: their categories, or all of arXiv when one names none."""
        if any(not f.categories for f in filters):
            return ALL_ARCHIVES
        return tuple(dict.fromkeys(c for f in filters for c in f.categories))

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
        items = []
        for paper in papers:
            cached = await self.translator.cached(paper)
            status = TranslationStatus.OK if cached is not None else TranslationStatus.FAILED
            items.append(DigestItem(paper, cached, status))
        return items

    async def paper(self, text: str) -> DigestItem:
        """One paper's bilingual abstract from an id or URL as a user typed it."""
        paper = await self.find_paper(parse_arxiv_id(text))
        if self.translator is None:
            return DigestItem(paper, None, TranslationStatus.OFF)
        before = self._llm_use()
        try:
            translation = await self.translator.translate(paper)
        except TranslationError:
            return DigestItem(paper, None, TranslationStatus.FAILED)
        finally:
            await self._record_llm_use(before)
        return DigestItem(paper, translation, TranslationStatus.OK)
