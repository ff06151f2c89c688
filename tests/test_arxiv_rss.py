"""Reading arXiv's daily RSS feed into a Listing."""

from __future__ import annotations

from datetime import date

import pytest

from bot.arxiv_source import parse_rss, strip_rss_preamble
from bot.errors import FeedParseError, SourceUnavailable
from bot.models import Listing, Paper
from tests.fakes.arxiv_server import fixture_bytes


@pytest.fixture(name="listing")
def fixture_listing() -> Listing:
    """The realistic cs.LG+stat.ML fixture feed, parsed with default options."""
    return parse_rss(fixture_bytes("rss_cs.LG+stat.ML.xml"))


def _by_id(listing: Listing) -> dict[str, Paper]:
    """The listing's papers keyed by identifier."""
    return {paper.arxiv_id: paper for paper in listing.papers}


def test_new_and_cross_listings_are_kept_in_feed_order(listing: Listing) -> None:
    """A day's listing holds new papers and cross-lists, in the feed's order, without replacements."""
    assert [p.arxiv_id for p in listing.papers] == ["2403.15001", "2403.15603", "2403.15210"]
    assert [p.announce_type for p in listing.papers] == ["new", "cross", "new"]


def test_the_listing_day_is_the_channels_announcement_date(listing: Listing) -> None:
    """The listing is dated with the channel's pubDate, in arXiv's own time zone."""
    assert listing.day == date(2024, 3, 25)
    assert listing.categories == ()


def test_a_paper_carries_its_id_version_text_authors_and_categories(listing: Listing) -> None:
    """Each paper has its bare id, version, one-line title, clean abstract, authors and categories."""
    paper = _by_id(listing)["2403.15001"]
    assert paper.version == 1
    assert paper.versioned_id == "2403.15001v1"
    assert paper.url == "https://arxiv.org/abs/2403.15001"
    assert paper.title == ("Sparse Mixture-of-Experts Routing with Learned Load Balancing for Continual Learning")
    assert paper.abstract.startswith("Mixture-of-experts (MoE) layers scale model capacity")
    assert "$1/(2k)$ for $k$ experts throughout a task sequence." in paper.abstract
    assert paper.authors == ("Mei Lin", "Jonas Keller", "Priya Raman", "Tomasz Nowak")
    assert paper.categories == ("cs.LG", "stat.ML")


def test_authors_joined_with_an_oxford_and_are_split(listing: Listing) -> None:
    """A creator list ending in `, and Name` gives every author once, without the word `and`."""
    paper = _by_id(listing)["2403.15210"]
    assert paper.authors == ("Ravi Shankar", "Olga Petrova", "Ahmed El-Sayed", "Lucía Fernández")


def test_xml_escapes_in_the_abstract_are_decoded(listing: Listing) -> None:
    """An escaped `&amp;` in the feed reads as a plain ampersand in the abstract."""
    assert "when this happens & propose" in _by_id(listing)["2403.15603"].abstract


def test_a_paper_listed_twice_keeps_its_first_occurrence(listing: Listing) -> None:
    """A paper announced as new and again as a cross-list appears once, as its first (new) entry."""
    papers = [p for p in listing.papers if p.arxiv_id == "2403.15001"]
    assert len(papers) == 1
    assert papers[0].announce_type == "new"


def test_replacements_are_included_on_request() -> None:
    """With include_replacements, replaced papers and replaced cross-lists join the listing."""
    listing = parse_rss(fixture_bytes("rss_cs.LG+stat.ML.xml"), include_replacements=True)
    papers = _by_id(listing)
    assert [p.arxiv_id for p in listing.papers] == [
        "2403.15001",
        "2403.15603",
        "2310.01234",
        "2211.04567",
        "2403.15210",
    ]
    assert papers["2310.01234"].announce_type == "replace"
    assert papers["2310.01234"].version == 3
    assert papers["2211.04567"].announce_type == "replace-cross"
    assert papers["2211.04567"].authors == ("Chloé Dubois",)


@pytest.mark.parametrize(
    ("description", "abstract"),
    [
        (
            "arXiv:2403.15603v1 Announce Type: cross \nAbstract: Gradient-based saliency maps are widely used.",
            "Gradient-based saliency maps are widely used.",
        ),
        (
            "arXiv:2403.15603v1 Announce Type: cross  Abstract: Gradient-based saliency maps ...",
            "Gradient-based saliency maps ...",
        ),
        (
            "arXiv:2203.01250v3 Announce Type: replace-cross \nAbstract: We consider\n first order\tproblems.",
            "We consider first order problems.",
        ),
        ("arXiv:hep-th/9901001v2 Announce Type: new \nAbstract: Strings.", "Strings."),
        ("  No preamble here,\n just text.  ", "No preamble here, just text."),
    ],
)
def test_the_rss_preamble_is_stripped_from_abstracts(description: str, abstract: str) -> None:
    """The `arXiv:ID Announce Type: X Abstract:` preamble never reaches the abstract, and spacing is normalised."""
    assert strip_rss_preamble(description) == abstract


def test_an_empty_weekend_feed_gives_an_empty_listing() -> None:
    """A weekend feed with no items is an empty listing dated by its lastBuildDate, not an error."""
    listing = parse_rss(fixture_bytes("rss_weekend_empty.xml"))
    assert listing.empty
    assert listing.papers == ()
    assert listing.day == date(2024, 3, 23)


def test_malformed_xml_raises_feed_parse_error() -> None:
    """A feed cut off in transit raises FeedParseError with a one-line message."""
    with pytest.raises(FeedParseError) as caught:
        parse_rss(fixture_bytes("rss_truncated.xml"))
    assert "not well-formed XML" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_html_error_page_raises_feed_parse_error() -> None:
    """An HTML maintenance page instead of the feed raises FeedParseError, a kind of SourceUnavailable."""
    with pytest.raises(FeedParseError, match="HTML page") as caught:
        parse_rss(fixture_bytes("error_page.html"))
    assert isinstance(caught.value, SourceUnavailable)


@pytest.mark.parametrize(
    "document",
    [
        b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>x</title></feed>",
        b"<rss version='2.0'></rss>",
        b"",
    ],
    ids=["atom", "no-channel", "empty"],
)
def test_a_document_that_is_not_rss_raises_feed_parse_error(document: bytes) -> None:
    """Well-formed XML that is no RSS channel, or nothing at all, raises FeedParseError."""
    with pytest.raises(FeedParseError):
        parse_rss(document)


def test_entity_declarations_are_refused_before_parsing() -> None:
    """A document declaring entities (an expansion attack) is refused instead of expanded."""
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b"<rss version='2.0'><channel><title>&b;</title></channel></rss>"
    )
    with pytest.raises(FeedParseError, match="DOCTYPE"):
        parse_rss(bomb)


def test_an_item_without_any_arxiv_id_is_skipped() -> None:
    """An item whose guid, description and link name no arXiv id is left out instead of failing the day."""
    feed = (
        b"<rss version='2.0' xmlns:arxiv='http://arxiv.org/schemas/atom'><channel>"
        b"<pubDate>Mon, 25 Mar 2024 00:00:00 -0400</pubDate>"
        b"<item><title>Odd</title><link>https://example.com/x</link><description>x</description></item>"
        b"<item><title>Fine</title><link>https://arxiv.org/abs/2403.15001</link>"
        b"<description>arXiv:2403.15001v4 Announce Type: new \nAbstract: Fine.</description></item>"
        b"</channel></rss>"
    )
    listing = parse_rss(feed)
    assert [(p.arxiv_id, p.version, p.announce_type) for p in listing.papers] == [("2403.15001", 4, "new")]
