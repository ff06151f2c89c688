"""Benchmark 1, matching: which of the day's papers each subscriber's filters match, compiled versus naive.

The naive baseline is a fair one: each paper folded once a day, then every filter of every subscriber tried on
every paper with the reference matcher's own regexes (before, it re-folded the paper for every keyword, which
made the compiled matcher look about 11 times better than it is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.common import Row, fmt_count, fmt_seconds, timed
from bench.synthetic import filters_by_chat, make_papers, subscribers
from bot.filters import CompiledMatcher, Filter, PreparedPapers, fold
from bot.filters.reference import _author_patterns, _keyword_pattern, in_category  # the reference's own regexes
from bot.models import Paper

NAME = "1 matching"
TARGET_SECONDS = 5.0
WORKER_BATCH = 25  # the chats a delivery worker usually matches at once (a quarter of its 100 slots)


@dataclass(frozen=True)
class FoldedPaper:
    """A paper with its title, abstract and author names folded once (for the day, not per keyword)."""

    paper: Paper
    texts: tuple[str, str]
    authors: tuple[str, ...]


def fold_papers(papers: Sequence[Paper]) -> list[FoldedPaper]:
    """Each paper folded once: the naive baseline's only preparation, shared by every subscriber."""
    return [FoldedPaper(p, (fold(p.title), fold(p.abstract)), tuple(map(fold, p.authors))) for p in papers]


def naive_filter_matches(f: Filter, p: FoldedPaper) -> bool:
    """`Filter.matches` with the reference matcher's own regexes, on the once-folded texts."""
    in_categories = not f.categories or any(
        in_category(c, wanted) for c in p.paper.categories for wanted in f.categories
    )
    if not in_categories:
        return False
    included = (
        not (f.keywords or f.authors)
        or any(_keyword_in(k, p) for k in f.keywords)
        or any(_author_in(a, p) for a in f.authors)
    )
    return included and not any(_keyword_in(x, p) for x in f.excludes)


def _keyword_in(keyword: str, p: FoldedPaper) -> bool:
    """The reference keyword regex searched in the folded title and abstract."""
    pattern = _keyword_pattern(keyword)
    return pattern is not None and any(pattern.search(text) for text in p.texts)


def _author_in(name: str, p: FoldedPaper) -> bool:
    """The reference author regexes: one author whose folded name has every word."""
    patterns = _author_patterns(name)
    return bool(patterns) and any(all(r.search(author) for r in patterns) for author in p.authors)


def naive_match(filters: Sequence[Filter], papers: Sequence[FoldedPaper]) -> list[Paper]:
    """The fair per-subscriber baseline: every filter on every (once-folded) paper, first of each arXiv id."""
    first: dict[str, Paper] = {}
    for p in papers:
        if any(naive_filter_matches(f, p) for f in filters):
            first.setdefault(p.paper.arxiv_id, p.paper)
    return list(first.values())


def run(quick: bool) -> list[Row]:
    """Time compile + match at each size, the naive loop on a sample (extrapolated), and per-delivery matching."""
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    paper_counts = (200, 2_000)
    repeat = 1 if quick else 2
    everyone = subscribers(max(sizes))
    papers_by_count = {n: make_papers(n) for n in paper_counts}
    rows: list[Row] = []
    compiled_results: dict[tuple[int, int], dict[str, list[Paper]]] = {}
    compiled_seconds: dict[tuple[int, int], float] = {}
    for size in sizes:
        chosen = filters_by_chat(everyone[:size])
        distinct = len({f for fs in chosen.values() for f in fs})
        for count in paper_counts:
            papers = papers_by_count[count]
            best_build = best_match = best_cpu = float("inf")
            result: dict[str, list[Paper]] = {}
            for _ in range(repeat):
                with timed() as build:
                    matcher = CompiledMatcher(chosen)
                with timed() as match:
                    result = matcher.match(papers)
                best_build, best_match = min(best_build, build.wall), min(best_match, match.wall)
                best_cpu = min(best_cpu, build.cpu + match.cpu)
            total = best_build + best_match
            compiled_results[size, count] = result
            compiled_seconds[size, count] = total
            matched = sum(len(v) for v in result.values())
            is_target = size == 100_000 and count == 2_000
            rows.append(
                Row(
                    NAME,
                    f"{fmt_count(size)} subs × {count:,} papers",
                    "compile + match (wall)",
                    fmt_seconds(total),
                    target=f"< {TARGET_SECONDS:g} s" if is_target else "",
                    ok=total < TARGET_SECONDS if is_target else None,
                    note=(
                        f"compile {fmt_seconds(best_build)} + match {fmt_seconds(best_match)},"
                        f" CPU {fmt_seconds(best_cpu)};"
                        f" {distinct:,} distinct filters; {matched / max(1, size):.0f} papers/subscriber"
                        + (f"; best of {repeat}" if repeat > 1 else "")
                    ),
                )
            )
    rows += _naive_rows(papers_by_count, sizes, compiled_results, compiled_seconds, quick)
    rows += _per_delivery_rows(papers_by_count, quick)
    return rows


def _naive_rows(
    papers_by_count: dict[int, list[Paper]],
    sizes: Sequence[int],
    compiled_results: dict[tuple[int, int], dict[str, list[Paper]]],
    compiled_seconds: dict[tuple[int, int], float],
    quick: bool,
) -> list[Row]:
    """The naive loop measured on the first subscribers, checked against the compiled result, extrapolated."""
    rows: list[Row] = []
    smallest = min(sizes)
    for count, papers in papers_by_count.items():
        sample = (40 if count == 200 else 8) * (4 if quick else 12)
        subs = subscribers(sample)
        with timed() as folding:
            folded = fold_papers(papers)  # once a day, whatever the number of subscribers
        with timed() as watch:
            naive = {s.chat.key: naive_match(s.filters, folded) for s in subs}
        compiled = compiled_results[smallest, count]
        agree = all(naive[s.chat.key] == compiled.get(s.chat.key, []) for s in subs)
        per_subscriber = watch.wall / sample
        for size in sizes:
            estimate = folding.wall + per_subscriber * size
            ratio = estimate / compiled_seconds[size, count]
            rows.append(
                Row(
                    NAME,
                    f"{fmt_count(size)} subs × {count:,} papers",
                    "naive loop (extrapolated)",
                    fmt_seconds(estimate),
                    note=(
                        f"fold {fmt_seconds(folding.wall)} once + {fmt_seconds(watch.wall)} on {sample} subscribers,"
                        f" × {size // sample:,} linearly;"
                        f" compiled is {ratio:,.0f}× faster; results agree on the sample: {'yes' if agree else 'NO'}"
                    ),
                    ok=None if agree else False,
                )
            )
    return rows


def _per_delivery_rows(papers_by_count: dict[int, list[Paper]], quick: bool) -> list[Row]:
    """A delivery worker's matching: batches of WORKER_BATCH chats against the day's papers it keeps, both ways."""
    rows: list[Row] = []
    chats = subscribers(500 if quick else 2_000)
    for count, papers in papers_by_count.items():
        prepared = PreparedPapers(papers)
        with timed() as once:  # once a day per worker: each paper's words, then where each word occurs
            prepared.texts()
            prepared.day_words()
        per_chat: dict[bool, float] = {}
        for look_up in (False, True):
            with timed() as watch:
                for start in range(0, len(chats), WORKER_BATCH):
                    batch = filters_by_chat(chats[start : start + WORKER_BATCH])
                    CompiledMatcher(batch, look_up=look_up).match_positions(prepared)
            per_chat[look_up] = watch.cpu / len(chats)
        rows.append(
            Row(
                NAME,
                f"batches of {WORKER_BATCH} chats × {count:,} papers",
                "a delivery worker's matching, per chat (CPU)",
                fmt_seconds(per_chat[True]),
                note=(
                    f"looked up in where the day's words occur; reading every paper's words instead:"
                    f" {fmt_seconds(per_chat[False])} ({per_chat[False] / per_chat[True]:.1f}×);"
                    f" × 100k deliveries = {per_chat[True] * 100_000 / 60:.1f} CPU-minutes a day;"
                    f" the day's words, once per worker: {fmt_seconds(once.cpu)}"
                ),
            )
        )
    return rows
