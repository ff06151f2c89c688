"""What each output form shows for a digest item, translated or not: the shared wording of markers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import DigestItem, TranslationStatus

MARKERS = {
    TranslationStatus.OFF: "〔未翻译：翻译功能未开启 · translations are off〕",
    TranslationStatus.FAILED: "〔翻译失败，显示英文原文 · translation failed, showing English〕",
    TranslationStatus.PENDING: "〔翻译尚未完成，显示英文原文 · not translated yet, showing English〕",
    TranslationStatus.LIMITED: "〔未翻译：翻译额度已用完 · not translated: translation limit reached〕",
}
LEGACY_TITLE_SUFFIX = re.compile(r" \(arXiv:[^\s()]+ \[[^\]\s]+\](?: UPDATED)?\)$")


def short_title(title: str) -> str:
    """The title without the legacy RSS suffix ` (arXiv:2401.09980v1 [eess.IV])`, as the summary table shows it."""
    return LEGACY_TITLE_SUFFIX.sub("", title)


def one_line(text: str) -> str:
    """Collapse newlines and runs of whitespace so the text fits on one line."""
    return " ".join(text.split())


@dataclass(frozen=True)
class ItemText:
    """The texts of one digest item ready for layout; untranslated items carry a visible marker."""

    title: str
    url: str
    title_zh: str
    tldr_zh: str
    tldr_en: str
    abstract: str
    abstract_zh: str
    translated: bool

    @classmethod
    def of(cls, item: DigestItem) -> ItemText:
        """Pick the texts of an item; where a translation is missing, say why instead of leaving a hole."""
        paper = item.paper
        if item.translation is not None and item.translated:
            tr = item.translation
            return cls(
                paper.title, paper.url, tr.title_zh, tr.tldr_zh, tr.tldr_en, paper.abstract, tr.abstract_zh, True
            )
        marker = MARKERS[item.status if item.status in MARKERS else TranslationStatus.FAILED]
        return cls(
            paper.title, paper.url, f"{marker} {one_line(paper.title)}", marker, "", paper.abstract, marker, False
        )


@dataclass(frozen=True)
class SummaryEntry:
    """One paper as a chat digest lists it: number, linked heading, optional second title, summary lines."""

    number: int
    heading: str
    url: str
    subtitle: str
    lines: tuple[str, ...]
    paper_id: str


def summary_entry(number: int, item: DigestItem, lang: str) -> SummaryEntry:
    """What a reader with this language choice (zh, en, both) sees of one paper in a chat digest."""
    text = ItemText.of(item)
    title = one_line(text.title)
    lines: tuple[str, ...]
    if lang == "en":
        heading, subtitle = title, ""
        lines = (text.tldr_en,) if text.translated else (text.tldr_zh,)
    elif lang == "zh":
        heading, subtitle, lines = one_line(text.title_zh), "", (text.tldr_zh,)
    else:
        heading, subtitle = one_line(text.title_zh), title if text.translated else ""
        lines = (text.tldr_zh, text.tldr_en)
    return SummaryEntry(
        number, heading, text.url, subtitle, tuple(one_line(x) for x in lines if x.strip()), item.paper.versioned_id
    )


def detail_parts(item: DigestItem) -> tuple[str, str, str, str, str, str]:
    """The parts of a paper's bilingual abstract, in reading order: titles, summaries, abstracts."""
    text = ItemText.of(item)
    return (
        one_line(text.title_zh),
        one_line(text.title),
        one_line(text.tldr_zh),
        one_line(text.tldr_en),
        text.abstract_zh.strip(),
        text.abstract.strip(),
    )


RATINGS = (("👍", "like"), ("👎", "dislike"))  # the buttons under a paper's full abstract, and their commands


def rating_data(command: str, paper_id: str) -> str:
    """A rating button's data (Telegram callback_data, Discord custom_id): `like:2402.03478`."""
    return f"{command}:{paper_id}"


def rating_of_data(data: str) -> tuple[str, str] | None:
    """The command and paper of a rating button's data; None for other buttons."""
    command, _, paper_id = data.partition(":")
    return (command, paper_id) if any(command == c for _, c in RATINGS) and paper_id else None
