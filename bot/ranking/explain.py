"""One line saying why a ranked digest's first paper came first: the words it shares with what the chat likes."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from bot.models import Paper
from bot.ranking.features import term_id, terms

REASONS = 3


@lru_cache(maxsize=4096)  # the same top papers come up for many chats in a day
def _spellings(title: str, abstract: str) -> dict[int, str]:
    """Each term id of a paper's title and abstract with its first spelling."""
    found: dict[int, str] = {}
    for term in terms(f"{title} {abstract}"):
        found.setdefault(term_id(term), term)
    return found


def reasons(paper: Paper, raising: Sequence[int]) -> list[str]:
    """The paper's terms that raised its score most, given heaviest first (a word pair hides the words inside it)."""
    spelling = _spellings(paper.title, paper.abstract)
    chosen: list[str] = []
    covered: set[str] = set()  # the words of the chosen terms
    single: set[str] = set()  # the chosen one-word terms
    for term_id_ in raising:
        term = spelling.get(term_id_)
        if term is None or term in covered:
            continue
        parts = term.split()
        if len(parts) > 1 and not single.isdisjoint(parts):
            continue
        chosen.append(term)
        covered.update(parts)
        if len(parts) == 1:
            single.add(term)
        if len(chosen) == REASONS:
            break
    return chosen


def why_line(paper: Paper, words: list[str]) -> str:
    """The bilingual line shown under a ranked digest's header."""
    if not words:
        return ""
    joined = ", ".join(words)
    return f"排在第一：与你的偏好相近（{joined}） · {paper.arxiv_id} is first: it matches what you like ({joined})"
