"""Title and abstract as hashed terms (words and word pairs): no stored vocabulary, the same ids in every process."""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Mapping
from itertools import pairwise

from bot.models import Paper

TERM_BITS = 22  # 4 million buckets: two terms of one chat's profile practically never share one
TERM_MASK = (1 << TERM_BITS) - 1
TITLE_WEIGHT = 2  # a title word counts as two abstract words
_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
STOPWORDS = frozenset(
    {  # English and the boilerplate of abstracts (scikit-learn would use max_df)
        "a",
        "about",
        "above",
        "accuracy",
        "achieve",
        "achieves",
        "achieving",
        "across",
        "address",
        "after",
        "again",
        "against",
        "algorithm",
        "algorithms",
        "all",
        "also",
        "although",
        "among",
        "an",
        "analysis",
        "and",
        "any",
        "approach",
        "approaches",
        "are",
        "as",
        "at",
        "available",
        "based",
        "baseline",
        "baselines",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "benchmark",
        "benchmarks",
        "between",
        "both",
        "but",
        "by",
        "can",
        "challenge",
        "challenges",
        "code",
        "comprehensive",
        "conduct",
        "could",
        "data",
        "dataset",
        "datasets",
        "deep",
        "demonstrate",
        "demonstrates",
        "did",
        "different",
        "do",
        "does",
        "doing",
        "done",
        "due",
        "each",
        "effective",
        "effectiveness",
        "efficient",
        "either",
        "empirical",
        "et",
        "etc",
        "existing",
        "experiment",
        "experiments",
        "extensive",
        "first",
        "for",
        "framework",
        "from",
        "function",
        "further",
        "furthermore",
        "generally",
        "given",
        "had",
        "has",
        "have",
        "having",
        "here",
        "how",
        "however",
        "i",
        "if",
        "improve",
        "improved",
        "improvement",
        "improvements",
        "improves",
        "in",
        "including",
        "into",
        "introduce",
        "is",
        "it",
        "its",
        "itself",
        "key",
        "large",
        "learning",
        "leverage",
        "limitation",
        "limitations",
        "may",
        "method",
        "methods",
        "might",
        "model",
        "models",
        "more",
        "moreover",
        "most",
        "much",
        "must",
        "network",
        "networks",
        "neural",
        "new",
        "no",
        "nor",
        "not",
        "novel",
        "of",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "outperform",
        "outperforms",
        "over",
        "own",
        "paper",
        "per",
        "performance",
        "practical",
        "present",
        "presents",
        "prior",
        "problem",
        "problems",
        "propose",
        "proposed",
        "proposes",
        "provide",
        "publicly",
        "rather",
        "real-world",
        "recent",
        "remain",
        "result",
        "results",
        "robustly",
        "same",
        "scalable",
        "setting",
        "settings",
        "several",
        "should",
        "show",
        "shown",
        "shows",
        "significant",
        "significantly",
        "simple",
        "since",
        "so",
        "some",
        "specifically",
        "state-of-the-art",
        "study",
        "such",
        "superior",
        "task",
        "tasks",
        "techniques",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "theoretical",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "thus",
        "to",
        "too",
        "train",
        "trained",
        "training",
        "two",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "uses",
        "using",
        "various",
        "very",
        "via",
        "was",
        "we",
        "well",
        "were",
        "what",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "widely",
        "will",
        "with",
        "within",
        "without",
        "work",
        "would",
        "yet",
    }
)


def words(text: str) -> list[str]:
    """The content words of a text: lower case, stop words dropped, a plural `s` removed."""
    found = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 3 or word in STOPWORDS:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        found.append(word)
    return found


def terms(text: str) -> list[str]:
    """A text's words and its pairs of neighbouring words (`diffusion model`)."""
    found = words(text)
    return found + [f"{a} {b}" for a, b in pairwise(found)]


def term_id(term: str) -> int:
    """A term's bucket: a stable hash (the same in every process and every release)."""
    return zlib.crc32(term.encode()) & TERM_MASK


def text_vector(text: str, title: str = "") -> dict[int, float]:
    """Hashed terms weighted by 1 + log(count), scaled to unit length; title terms count double."""
    counts: Counter[int] = Counter(term_id(t) for t in terms(text))
    for term in terms(title):
        counts[term_id(term)] += TITLE_WEIGHT
    weights = {t: 1.0 + math.log(n) for t, n in counts.items()}
    return normalised(weights)


def paper_vector(paper: Paper) -> dict[int, float]:
    """A paper's title and abstract as a unit-length hashed-term vector."""
    return text_vector(paper.abstract, paper.title)


def normalised(weights: Mapping[int, float]) -> dict[int, float]:
    """The same weights scaled to unit length (empty stays empty)."""
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {t: w / norm for t, w in weights.items()} if norm else {}
