"""The domain's value objects: papers, translations, digests. Frozen, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum


@dataclass(frozen=True)
class Paper:
    """One arXiv paper as announced: identifier without version, version, and its English text."""

    arxiv_id: str
    title: str
    abstract: str
    url: str
    version: int | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    announce_type: str = "new"

    @property
    def versioned_id(self) -> str:
        """The identifier with its version suffix when the version is known (`2402.03478v2`)."""
        return f"{self.arxiv_id}v{self.version}" if self.version else self.arxiv_id

    @property
    def abs_url(self) -> str:
        """The canonical abstract page of this paper."""
        return f"https://arxiv.org/abs/{self.arxiv_id}"


@dataclass(frozen=True)
class Translation:
    """What the LLM writes for one paper: Chinese title, Chinese and English one-line summaries, Chinese abstract."""

    title_zh: str
    tldr_zh: str
    abstract_zh: str
    tldr_en: str = ""


class TranslationStatus(Enum):
    """Whether a digest item carries a translation, and why not when it does not."""

    OK = "ok"
    OFF = "off"
    FAILED = "failed"
    PENDING = "pending"  # still being translated when the answer was due
    LIMITED = "limited"  # the reader's budget of new translations is used up for now


@dataclass(frozen=True)
class DigestItem:
    """One paper in a digest together with its translation, if any."""

    paper: Paper
    translation: Translation | None = None
    status: TranslationStatus = TranslationStatus.OFF

    @property
    def translated(self) -> bool:
        """True when the item carries a usable translation."""
        return self.translation is not None and self.status is TranslationStatus.OK


@dataclass(frozen=True)
class Digest:
    """An ordered digest of papers for one announcement day (day unknown for rendered JSON input)."""

    items: tuple[DigestItem, ...]
    day: date | None = None
    categories: tuple[str, ...] = field(default=())
    lead: str = ""  # a line under the header (why a ranked digest's first paper came first)
    footer: str = ""  # a line after the papers (how many more matched than the chat's limit shows)


@dataclass(frozen=True)
class Listing:
    """One announcement day's papers as read from arXiv's RSS feed (empty on days without announcement)."""

    papers: tuple[Paper, ...]
    day: date | None = None
    categories: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the feed announced nothing (weekends, holidays)."""
        return not self.papers
