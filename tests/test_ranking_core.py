"""The ranking core as pure functions: hashed terms, the learned profile, ordering, limits and the why-line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.filters import CompiledMatcher, parse_filter
from bot.models import Paper
from bot.ranking.arrange import Preferences, arrange, arrange_many
from bot.ranking.features import paper_vector, term_id, words
from bot.ranking.index import SCORED_TOGETHER, build_index
from bot.ranking.model import DISLIKE, EMPTY, LIKE, PROFILE_TERMS, Profile, trimmed, update
from bot.ranking.order import TIE_BREAK, best_first


def _paper(n: int, title: str, abstract: str = "") -> Paper:
    """A paper numbered n."""
    return Paper(f"2403.{10000 + n}", title, abstract or title, f"https://arxiv.org/abs/2403.{10000 + n}")


PAPERS = [
    _paper(1, "Graph neural networks for molecules", "Message passing over molecular graphs predicts properties."),
    _paper(2, "Diffusion models for image editing", "Denoising diffusion edits images guided by text prompts."),
    _paper(3, "Kernel two-sample tests", "Maximum mean discrepancy tests for functional data."),
    _paper(4, "Faster diffusion sampling", "Fewer denoising steps for diffusion samplers of images."),
    _paper(5, "Molecular graph generation", "Generating molecular graphs with message passing."),
]

_TOPICS = ("diffusion sampling", "graph molecules", "kernel tests", "language models", "reward policy", "pruning")
MANY = [  # two topics each, some shared: scores vary, and many papers tie
    _paper(
        20 + n, f"{_TOPICS[n % 6]} and {_TOPICS[n * 5 % 6]}", f"On {_TOPICS[n % 6]} with {_TOPICS[(n + n // 6) % 6]}."
    )
    for n in range(36)
]


def test_term_ids_are_stable_across_processes() -> None:
    """A term's bucket is a fixed hash, the same in every process and release (stored profiles depend on it)."""
    assert term_id("diffusion") == (__import__("zlib").crc32(b"diffusion") & ((1 << 22) - 1))
    assert words("We propose Diffusion Models, and models.") == ["diffusion"]


def test_profile_packs_small_and_reads_back() -> None:
    """A full profile packs into at most 6 bytes a term of base64 and reads back with the same order of weights."""
    profile = Profile.of({t: (t % 7 - 3) / 3 for t in range(1, PROFILE_TERMS + 1)})
    packed = profile.pack()
    assert len(packed) <= PROFILE_TERMS * 6 * 4 // 3 + 4
    back = Profile.unpack(packed)
    assert set(back.weights) == set(profile.weights)
    assert all(abs(back.weights[t] - w) < 1e-2 for t, w in profile.weights.items())
    assert Profile.unpack("not base64!").weights == {}


def test_rating_again_takes_the_earlier_rating_back() -> None:
    """Liking then disliking a paper leaves the same profile as disliking it directly."""
    vector = paper_vector(PAPERS[1])
    liked_then_disliked = update(update(EMPTY, vector, 0, LIKE), vector, LIKE, DISLIKE)
    disliked = update(EMPTY, vector, 0, DISLIKE)
    assert liked_then_disliked.weights.keys() == disliked.weights.keys()
    assert all(abs(liked_then_disliked.weights[t] - w) < 1e-9 for t, w in disliked.weights.items())
    assert len(trimmed({t: float(t) for t in range(1, 500)}).weights) == PROFILE_TERMS


def test_a_like_ranks_papers_sharing_its_words_first_and_ties_keep_order() -> None:
    """Liking a diffusion paper ranks the other diffusion paper first; unrelated papers keep announcement order."""
    index = build_index(PAPERS)
    profile = update(EMPTY, paper_vector(PAPERS[1]), 0, LIKE)
    rest = [p for p in PAPERS if p is not PAPERS[1]]
    arranged = arrange(rest, index, Preferences(profile=profile, likes=1))
    assert [p.arxiv_id for p in arranged.papers] == ["2403.10004", "2403.10001", "2403.10003", "2403.10005"]
    assert "2403.10004 is first" in arranged.why and "diffusion" in arranged.why


def test_the_matchers_positions_rank_exactly_as_looking_papers_up() -> None:
    """Given the papers' positions (as the worker has them from the matcher), the ranking and why-line are the same."""
    index = build_index(PAPERS)
    prefs = Preferences(profile=update(EMPTY, paper_vector(PAPERS[1]), 0, LIKE), likes=1, limit=3)
    matched = CompiledMatcher({"chat": (parse_filter("diffusion, molecular"),)}).match_rows(PAPERS)["chat"]
    papers = [PAPERS[i] for i in matched]
    [by_rows], looked_up = arrange_many(PAPERS, index, [prefs], [matched]), arrange(papers, index, prefs)
    assert by_rows == looked_up and by_rows.papers[0].arxiv_id == "2403.10002" and "diffusion" in by_rows.why
    stranger = _paper(9, "Diffusion of a paper the index lacks")  # e.g. /digest for a listing fetched since
    ranked = arrange([stranger, *papers], index, prefs).papers  # it scores 0: first among the unrelated ones
    assert [p.arxiv_id for p in ranked] == ["2403.10002", "2403.10004", "2403.10009"]


def test_chats_arranged_together_get_what_each_would_get_alone() -> None:
    """Ranking a worker's batch at once (more chats than one round of arrays holds) gives each chat its own digest."""
    index = build_index(PAPERS)
    prefs = [
        Preferences(
            profile=update(EMPTY, paper_vector(PAPERS[i % len(PAPERS)]), 0, LIKE if i % 3 else DISLIKE),
            likes=1,
            limit=(None, 1, 2, 4)[i % 4],
        )
        for i in range(SCORED_TOGETHER * 2 + 3)
    ]
    prefs[5] = Preferences(limit=2)  # never rated: announcement order
    matched = [[r for r in range(len(PAPERS)) if (r + i) % 4] for i in range(len(prefs))]
    matched[7] = []  # nothing matched this chat today
    together = arrange_many(PAPERS, index, prefs, matched)
    for chat_prefs, rows, arranged in zip(prefs, matched, together, strict=True):
        assert arranged == arrange([PAPERS[r] for r in rows], index, chat_prefs)
    assert together[1].papers[0] == PAPERS[1] and "2403.10002 is first" in together[1].why  # chat 1 liked paper 1
    assert [p.arxiv_id for p in together[5].papers] == ["2403.10001", "2403.10002"] and together[5].more == 2
    assert together[7].papers == () and together[7].matched == 0
    assert len(together[0].papers) == len(matched[0]) and together[0].more == 0  # /limit all


def test_limit_cuts_and_counts_the_rest_whether_ranked_or_not() -> None:
    """The limit keeps the first N (ranked or in announcement order) and counts the others; show_all keeps all."""
    index = build_index(PAPERS)
    plain = arrange(PAPERS, index, Preferences(limit=2))
    assert [p.arxiv_id for p in plain.papers] == ["2403.10001", "2403.10002"] and plain.more == 3
    assert plain.why == ""
    interested = arrange(PAPERS, index, Preferences(limit=2, interest="molecular graphs"))
    assert {p.arxiv_id for p in interested.papers} == {"2403.10001", "2403.10005"}
    assert arrange(PAPERS, index, Preferences(limit=2), show_all=True).more == 0
    off = arrange(PAPERS, index, Preferences(rank=False, limit=None, interest="molecular graphs"))
    assert list(off.papers) == PAPERS


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_every_chat_of_a_batch_gets_its_best_papers_best_first(data: st.DataObject) -> None:
    """Ranked in one batch, each chat gets exactly its `limit` best-scoring matched papers in order, ties as listed."""
    index = build_index(MANY)
    papers = st.integers(0, len(MANY) - 1)
    profiles, rows, limits = [], [], []
    for _ in range(data.draw(st.integers(1, SCORED_TOGETHER + 4), label="chats")):
        profile = EMPTY
        for liked in data.draw(st.lists(papers, max_size=3), label="liked"):
            profile = update(profile, paper_vector(MANY[liked]), 0, LIKE)
        profiles.append(profile)
        rows.append(sorted(data.draw(st.sets(papers), label="matched")))
        limits.append(data.draw(st.integers(0, len(MANY) + 1), label="limit"))
    for profile, chat, limit, ranked in zip(
        profiles, rows, limits, best_first(index, profiles, rows, limits), strict=True
    ):
        scores = index.score_many([profile])[0]
        expected = sorted(range(len(chat)), key=lambda i: i * TIE_BREAK - scores[chat[i]])[:limit]
        assert ranked.best.tolist() == expected
        assert ranked.first_row == (chat[expected[0]] if expected else -1)
