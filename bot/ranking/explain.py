"""One line saying why a ranked digest's first paper came first: the words it shares with what the chat likes."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.models import Paper
from bot.ranking.features import paper_vector, term_id, terms

REASONS = 3


def reasons(paper: Paper, weights: Mapping[int, float], idf: Callable[[int], float]) -> list[str]:
    """The paper's terms that raised its score most, heaviest first (a word pair hides the words inside it)."""
    vector = paper_vector(paper)
    gains: dict[str, float] = {}
    for term in terms(paper.title + " " + paper.abstract):
        tid = term_id(term)
        gain = weights.get(tid, 0.0) * vector.get(tid, 0.0) * idf(tid)
        if gain > 0:
            gains[term] = gain
    chosen: list[str] = []
    for term in sorted(gains, key=lambda t: (-gains[t], t)):
        if any(term in c.split() or c in term.split() for c in chosen):
            continue
        chosen.append(term)
        if len(chosen) == REASONS:
            break
    return chosen


def why_line(paper: Paper, words: list[str]) -> str:
    """The bilingual line shown under a ranked digest's header."""
    if not words:
        return ""
    joined = ", ".join(words)
    return f"排在第一：与你的偏好相近（{joined}） · {paper.arxiv_id} is first: it matches what you like ({joined})"
