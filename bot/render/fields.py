"""What each output form shows for a digest item, translated or not: the shared wording of markers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import DigestItem, TranslationStatus

MARKERS = {
    TranslationStatus.OFF: "〔未翻译：翻译功能未开启 · translations are off〕",
    TranslationStatus.FAILED: "〔翻译失败，显示英文原文 · translation failed, showing English〕",
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
            return cls(paper.title, paper.url, tr.title_zh, tr.tldr_zh, tr.tldr_en, paper.abstract,
                       tr.abstract_zh, True)
        marker = MARKERS[item.status if item.status in MARKERS else TranslationStatus.FAILED]
        return cls(paper.title, paper.url, f"{marker} {one_line(paper.title)}", marker, "", paper.abstract,
                   marker, False)
