"""Tests of the topic filter language: parsing, validation, matching, and the compiled matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.categories import ARCHIVES, CATEGORIES, canonical_category, close_categories
from bot.errors import InvalidFilter
from bot.filters import MAX_LENGTH, CompiledMatcher, Filter, filter_from_options, matching_papers, parse_filter
from bot.models import Paper


def paper(
    title: str = "",
    abstract: str = "",
    authors: tuple[str, ...] = (),
    categories: tuple[str, ...] = ("cs.LG",),
    arxiv_id: str = "2401.00001",
) -> Paper:
    """A paper with only the fields filters look at."""
    return Paper(arxiv_id, title, abstract, f"https://arxiv.org/abs/{arxiv_id}", 1, authors, categories)


@pytest.fixture(name="hinton_paper")
def fixture_hinton_paper() -> Paper:
    """A paper by Hinton and Schölkopf about GAN-based diffusion models."""
    return paper(
        title="GAN-based Diffusion\n  Models",
        abstract="We study (GAN) training; organ imaging is out of scope.",
        authors=("Geoffrey E. Hinton", "Bernhard Schölkopf"),
        categories=("cs.LG", "stat.ML"),
    )


# ---------------------------------------------------------------------------------------------------------
# The taxonomy.


def test_taxonomy_covers_every_archive() -> None:
    """Every arXiv archive from cs to stat, including the physics archives, is known."""
    expected = {"cs", "econ", "eess", "math", "astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph"}
    expected |= {"hep-th", "math-ph", "nlin", "nucl-ex", "nucl-th", "physics", "quant-ph", "q-bio", "q-fin", "stat"}
    assert expected == ARCHIVES
    assert CATEGORIES["cs.LG"] == "Machine Learning"
    assert len(CATEGORIES) == 155


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("cs.lg", "cs.LG"),
        ("STAT.ML", "stat.ML"),
        ("cond-mat.MES-HALL", "cond-mat.mes-hall"),
        ("CS", "cs"),
        ("cs.XX", None),
    ],
)
def test_canonical_category(token: str, expected: str | None) -> None:
    """Category codes are recognised in any case and given arXiv's spelling; unknown ones are None."""
    assert canonical_category(token) == expected


def test_close_categories_prefers_same_subject_and_archive() -> None:
    """Suggestions for a mistyped code include the same subject in another archive and the same archive's codes."""
    assert close_categories("cs.ml")[0] == "stat.ML"
    assert all(code.startswith("cs.") for code in close_categories("cs.XX"))


# ---------------------------------------------------------------------------------------------------------
# Parsing.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cs.LG stat.ML", Filter(categories=("cs.LG", "stat.ML"))),
        ('cs.CV "diffusion model" -survey', Filter(("cs.CV",), ("diffusion model",), excludes=("survey",))),
        ("author:Hinton", Filter(authors=("Hinton",))),
        ('author:"Geoffrey Hinton"', Filter(authors=("Geoffrey Hinton",))),
        ("cs.lg, STAT.ml", Filter(categories=("cs.LG", "stat.ML"))),
        ("stat.ML cs.LG cs.LG", Filter(categories=("cs.LG", "stat.ML"))),
        ("math hep-th ASTRO-PH.co", Filter(categories=("astro-ph.CO", "hep-th", "math"))),
        ('"diffusion   \n model"', Filter(keywords=("diffusion model",))),
        ("“diffusion model” GAN", Filter(keywords=("diffusion model", "GAN"))),
        ('"cs.LG" -"a survey" -"cs.CV"', Filter(keywords=("cs.LG",), excludes=("a survey", "cs.CV"))),
        ("Author:Hinton author:hinton", Filter(authors=("Hinton",))),
        ("GAN gan -Survey -survey", Filter(keywords=("GAN",), excludes=("Survey",))),
        ("physics.optics q-bio.NC econ.EM", Filter(categories=("econ.EM", "physics.optics", "q-bio.NC"))),
    ],
)
def test_parse_filter(text: str, expected: Filter) -> None:
    """Filters parse into sorted, de-duplicated categories in arXiv's spelling, keywords, authors and exclusions."""
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("cs.CV  “diffusion model”  -survey", 'cs.CV "diffusion model" -survey'),
        ('"GAN" author:"Hinton"', "GAN author:Hinton"),
        ('"-x" "author:y" "math"', '"author:y" "math" "-x"'),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    """A filter's text form is normalised and quotes only what would otherwise read differently."""
    assert str(parse_filter(text)) == canonical
    assert parse_filter(canonical) == parse_filter(text)


def test_filters_are_values() -> None:
    """Filters written differently but meaning the same are equal and hash alike, so they can be stored as text."""
    assert parse_filter("stat.ML cs.lg") == parse_filter("cs.LG,stat.ML")
    assert len({parse_filter("stat.ML cs.lg"), parse_filter("cs.LG stat.ML")}) == 1


def test_unknown_category_names_close_matches() -> None:
    """An unknown category is refused with suggestions and a link to arXiv's taxonomy."""
    with pytest.raises(InvalidFilter) as caught:
        parse_filter("cs.XX diffusion")
    message = str(caught.value)
    assert "unknown arXiv category 'cs.XX'" in message
    assert "did you mean cs." in message
    assert "https://arxiv.org/category_taxonomy" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('cs.CV "diffusion model', "unbalanced quote"),
        ('author:"Geoffrey Hinton', "unbalanced quote"),
        ("", "empty"),
        ("  ,\n ", "empty"),
        ("-survey", "besides exclusions"),
        ('-survey -"a review"', "besides exclusions"),
        ("x" * 10_000, "at most 500 characters"),
        (" ".join(["word"] * 31), "at most 30 terms"),
        ("-cs.CV cs.LG", "cannot exclude a category"),
        ("-author:Hinton cs.LG", "cannot exclude an author"),
        ("author: cs.LG", "names no author"),
        ("cs.LG - survey", "at least one letter or digit"),
        ('cs.LG ""', "at least one letter or digit"),
        ("cs.LG ***", "at least one letter or digit"),
    ],
)
def test_invalid_filters(text: str, fragment: str) -> None:
    """Malformed filters are refused with a message saying what is wrong."""
    with pytest.raises(InvalidFilter, match=fragment):
        parse_filter(text)


@pytest.mark.parametrize("text", ["<b>x</b>", "[x](http://e)", "a&b|c*d_e", "(.*)+x [a-z] \\d"])
def test_markup_is_plain_keywords(text: str) -> None:
    """HTML, Markdown and regex syntax are taken as plain keywords and never interpreted."""
    f = parse_filter(text)
    assert f.categories == ()
    assert f.keywords
    assert not f.matches(paper(title="xyz", abstract="nothing to see"))


def test_regex_characters_match_literally() -> None:
    """Characters that mean something in a regex only separate words in a keyword."""
    assert parse_filter("a*b").matches(paper(title="the a b test"))
    assert not parse_filter("a*b").matches(paper(title="the aaab test"))


def test_filter_from_options() -> None:
    """The command line's --categories and --keywords lists build the same filter as the chat syntax."""
    built = filter_from_options(["cs.LG,stat.ML"], ["diffusion,uncertainty", "diffusion model"])
    assert built == parse_filter('cs.LG stat.ML diffusion uncertainty "diffusion model"')


def test_filter_from_options_takes_keywords_literally() -> None:
    """Command-line keywords starting with `-` or `author:` are keywords, not exclusions or authors."""
    assert filter_from_options([], ["-survey", "author:x"]) == Filter(keywords=("author:x", "-survey"))


@pytest.mark.parametrize(("categories", "keywords"), [(["cs.XX"], []), ([], []), ([" , "], [","])])
def test_filter_from_options_validates(categories: list[str], keywords: list[str]) -> None:
    """Unknown categories and empty options are refused like in chat."""
    with pytest.raises(InvalidFilter):
        filter_from_options(categories, keywords)


# ---------------------------------------------------------------------------------------------------------
# Matching.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GAN", True),
        ("gan", True),
        ("organs", False),
        ("diffusion", True),
        ('"diffusion model"', True),
        ('"diffusion models"', True),
        ('"GAN based"', True),
        ('"GAN-based diffusion"', True),
        ('"models diffusion"', False),
        ("rgan", False),
        ("imaging", True),
        ("image", False),
        ("cs", True),
        ("stat.ML", True),
        ("cs.CV", False),
        ("math", False),
        ("cs.CV GAN", False),
        ("cs.LG GAN", True),
        ("GAN -organ", False),
        ('cs.LG -"out of scope"', False),
        ("author:Hinton", True),
        ('author:"Geoffrey Hinton"', True),
        ('author:"Hinton Geoffrey"', True),
        ("author:Scholkopf", True),
        ("author:SCHÖLKOPF", True),
        ("author:Geoff", False),
        ('author:"Geoffrey Schölkopf"', False),
        ("author:Hinton -GAN", False),
    ],
)
def test_matches(text: str, expected: bool, hinton_paper: Paper) -> None:
    """Filters match by category, keyword, phrase and author, and any exclusion wins."""
    assert parse_filter(text).matches(hinton_paper) is expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [("GAN-based", True), ("a (GAN)", True), ("GANs", True), ("GAN.", True), ("organ", False), ("GANesh", False)],
)
def test_keywords_respect_word_boundaries(title: str, expected: bool) -> None:
    """A keyword matches whole words and their simple plural (+s, +es), never the inside of a word."""
    assert parse_filter("GAN").matches(paper(title=title)) is expected


def test_phrase_matches_across_whitespace() -> None:
    """A phrase matches its words separated by any whitespace, newlines or punctuation, in any case."""
    f = parse_filter('"diffusion model"')
    assert f.matches(paper(abstract="Diffusion \n\t MODELS are good."))
    assert f.matches(paper(abstract="diffusion-model"))
    assert not f.matches(paper(abstract="diffusion of a model"))


def test_phrase_does_not_span_title_and_abstract() -> None:
    """A phrase must lie within the title or within the abstract."""
    assert not parse_filter('"diffusion model"').matches(paper(title="On diffusion", abstract="Model theory"))


def test_accents_are_ignored_in_keywords() -> None:
    """Keywords match regardless of accents on either side."""
    assert parse_filter("Erdos").matches(paper(title="On an Erdős problem"))
    assert parse_filter("Erdős").matches(paper(title="On an Erdos problem"))


def test_bare_archive_matches_all_its_categories() -> None:
    """A bare archive such as `math` matches any of its categories but not a look-alike archive (`math-ph`)."""
    f = parse_filter("math")
    assert f.matches(paper(categories=("math.AP",)))
    assert not f.matches(paper(categories=("math-ph",)))


def test_compiled_matcher_orders_and_deduplicates(hinton_paper: Paper) -> None:
    """Each subscriber gets matching papers in input order, once, however many of their filters match."""
    other = paper(title="Nothing", categories=("math.AP",), arxiv_id="2401.00002")
    matcher = CompiledMatcher(
        {
            "alice": [parse_filter("cs.LG"), parse_filter("GAN"), parse_filter("math")],
            "bob": [parse_filter("cs.CV")],
        }
    )
    assert matcher.match([other, hinton_paper, hinton_paper]) == {"alice": [other, hinton_paper]}
    assert matching_papers([parse_filter("author:Hinton")], [other, hinton_paper]) == [hinton_paper]


# ---------------------------------------------------------------------------------------------------------
# Properties.

_PIECES = [
    *["cs.LG", "CS.cv", "stat.ML", "math", "hep-th", "cond-mat.mes-hall", "cs.XX", "q-bio", "astro-ph.CO"],
    *["GAN", "diffusion", "model", "Schölkopf", "Erdős", "<b>", "[x](http://e)", "*", "_", "&", "ﬁ", "İ", "ß"],
    *['"', "“", "”", "-", "--", "author:", "AUTHOR:", " ", "  ", ",", "\n", "\t", "\x00", "\u200b"],
]
_filter_texts = st.lists(st.sampled_from(_PIECES) | st.text(max_size=4), max_size=25).map("".join)


@settings(max_examples=400, deadline=None)
@given(text=_filter_texts | st.text(max_size=60))
def test_parse_only_raises_invalid_filter_and_round_trips(text: str) -> None:
    """Any text either is refused with InvalidFilter or parses to a filter whose text form parses back equal."""
    try:
        f = parse_filter(text)
    except InvalidFilter:
        return
    assert parse_filter(f.canonical()) == f
    assert len(f.canonical()) <= MAX_LENGTH


_WORDS = ["gan", "GANs", "organ", "diffusion", "Models", "model", "survey", "bias", "biases", "Erdős", "erdos"]
_TEXT = st.lists(st.sampled_from([*_WORDS, " ", "-", "\n", ", ", "(", ")"]), max_size=12).map(" ".join)
_AUTHORS = ["Geoffrey E. Hinton", "Bernhard Schölkopf", "Wei Wang", "Wang Wei", "G. Hinton"]
_CODES = ["cs.LG", "cs.CV", "stat.ML", "math.AP", "math-ph", "hep-th"]


@st.composite
def _papers(draw: st.DrawFn) -> Paper:
    """A random paper over a small vocabulary, so that filters often match it."""
    return paper(
        title=draw(_TEXT),
        abstract=draw(_TEXT),
        authors=tuple(draw(st.lists(st.sampled_from(_AUTHORS), max_size=3))),
        categories=tuple(draw(st.lists(st.sampled_from(_CODES), max_size=3))),
        arxiv_id=draw(st.sampled_from(["1", "2", "3", "4", "5", "6"])),
    )


_TERMS = [
    *["cs.LG", "cs.CV", "stat.ML", "math", "math-ph", "hep-th", "cs"],
    *[w for w in _WORDS if w != "survey"],
    *['"diffusion model"', '"GAN diffusion"', '"organ-bias"', '"models gan survey"'],
    *[
        "author:Hinton",
        'author:"Geoffrey Hinton"',
        'author:"wei wang"',
        "author:G",
        "author:Scholkopf",
        'author:"Bernhard Hinton"',
        'author:"wei hinton"',
    ],
    *["-survey", "-bias", '-"diffusion models"', "-erdos"],
]
_filters = (
    st.lists(st.sampled_from(_TERMS), min_size=1, max_size=5)
    .filter(lambda terms: not all(term.startswith("-") for term in terms))
    .map(lambda terms: parse_filter(" ".join(terms)))
)


def _reference(filters: list[Filter], papers: list[Paper]) -> list[Paper]:
    """One subscriber's papers computed with the reference `Filter.matches`."""
    seen: dict[str, Paper] = {}
    for p in papers:
        if any(f.matches(p) for f in filters):
            seen.setdefault(p.arxiv_id, p)
    return list(seen.values())


@settings(max_examples=300, deadline=None)
@given(
    subscribers=st.dictionaries(st.sampled_from("abcdefgh"), st.lists(_filters, max_size=3), max_size=6),
    papers=st.lists(_papers(), max_size=8),
)
def test_compiled_matcher_agrees_with_reference(subscribers: dict[str, list[Filter]], papers: list[Paper]) -> None:
    """The compiled matcher selects exactly the papers the reference matcher selects, for every subscriber.

    So do the positions it gives a delivery worker, as lists and as arrays (first position of a repeated id),
    whether it reads each paper's words or looks the filters' words up.
    """
    expected = {s: _reference(fs, papers) for s, fs in subscribers.items()}
    for look_up in (False, True):
        matcher = CompiledMatcher(subscribers, look_up=look_up)
        assert matcher.match(papers) == {s: ps for s, ps in expected.items() if ps}
        rows, positions = matcher.match_rows(papers), matcher.match_positions(papers)
        assert {s: [papers[r] for r in at] for s, at in rows.items()} == {s: ps for s, ps in expected.items() if ps}
        assert {s: at.tolist() for s, at in positions.items()} == {s: list(at) for s, at in rows.items()}
    for filters in subscribers.values():
        assert matching_papers(filters, papers) == _reference(filters, papers)


@settings(max_examples=200, deadline=None)
@given(f=_filters)
def test_generated_filters_round_trip(f: Filter) -> None:
    """Every valid filter's text form parses back to an equal filter, and the text form is stable."""
    assert parse_filter(f.canonical()) == f
    assert parse_filter(f.canonical()).canonical() == f.canonical()
