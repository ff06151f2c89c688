"""One line saying why a ranked digest's first paper came first: the words it shares with what the chat likes."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from bot.models import Paper
from bot.ranking.features import term_id, terms, text_vector

REASONS = 3


@lru_cache(maxsize=4096)  # the same top papers come up for many chats in a day
def _paper_terms(title: str, abstract: str) -> dict[int, tuple[str, float]]:
    """Each term id of a paper with its first spelling and its weight in the paper's vector."""
    vector = text_vector(abstract, title)
    found: dict[int, tuple[str, float]] = {}
    for term in terms(f"{title} {abstract}"):
        tid = term_id(term)
        if tid not in found and vector.get(tid, 0.0) > 0:
            found[tid] = (term, vector[tid])
    return found


def reasons(paper: Paper, weights: Mapping[int, float], idf: Mapping[int, float]) -> list[str]:
    """The paper's terms that raised its score most, heaviest first (a word pair hides the words inside it)."""
    own = _paper_terms(paper.title, paper.abstract)
    gains = {own[t][0]: w * own[t][1] * idf[t] for t, w in weights.items() if w > 0 and t in own and t in idf}
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
