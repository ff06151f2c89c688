"""Reading arXiv identifiers and URLs as users paste them."""

from __future__ import annotations

import pytest

from bot.arxiv_source import ACCEPTED_FORMS, ArxivId, parse_arxiv_id
from bot.errors import InvalidArxivId

ACCEPTED = [
    ("2402.03478", "2402.03478", None),
    ("2402.03478v2", "2402.03478", 2),
    ("2402.03478v12", "2402.03478", 12),
    ("arXiv:2402.03478", "2402.03478", None),
    ("arxiv:2402.03478v3", "2402.03478", 3),
    ("ARXIV:2402.03478", "2402.03478", None),
    ("0704.0001", "0704.0001", None),
    ("1412.1234", "1412.1234", None),
    ("1501.00001", "1501.00001", None),
    ("hep-th/9901001", "hep-th/9901001", None),
    ("hep-th/9901001v1", "hep-th/9901001", 1),
    ("math.GT/0309136", "math/0309136", None),
    ("math.CA/0611800v2", "math/0611800", 2),
    ("cond-mat/0703001", "cond-mat/0703001", None),
    ("https://arxiv.org/abs/2402.03478", "2402.03478", None),
    ("http://arxiv.org/abs/2402.03478v2", "2402.03478", 2),
    ("https://www.arxiv.org/abs/2402.03478", "2402.03478", None),
    ("https://export.arxiv.org/abs/2402.03478", "2402.03478", None),
    ("https://rss.arxiv.org/abs/2402.03478", "2402.03478", None),
    ("https://arxiv.org/pdf/2402.03478", "2402.03478", None),
    ("https://arxiv.org/pdf/2402.03478.pdf", "2402.03478", None),
    ("https://arxiv.org/pdf/2402.03478v2", "2402.03478", 2),
    ("https://arxiv.org/pdf/2402.03478v2.pdf", "2402.03478", 2),
    ("https://arxiv.org/html/2402.03478v2", "2402.03478", 2),
    ("https://arxiv.org/html/2402.03478v2/", "2402.03478", 2),
    ("https://arxiv.org/abs/2402.03478/", "2402.03478", None),
    ("https://arxiv.org/abs/2402.03478?context=cs.LG", "2402.03478", None),
    ("https://arxiv.org/abs/2402.03478v1#S2", "2402.03478", 1),
    ("HTTPS://ArXiv.org/abs/2402.03478", "2402.03478", None),
    ("https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001", None),
    ("https://arxiv.org/pdf/math.CA/0611800v2.pdf", "math/0611800", 2),
    ("arxiv.org/abs/2402.03478", "2402.03478", None),
    ("  2402.03478\n", "2402.03478", None),
    ("<https://arxiv.org/abs/2402.03478>", "2402.03478", None),
    ("< 2402.03478v2 >", "2402.03478", 2),
]

REJECTED = [
    "2402.3478",
    "2413.00001",
    "2400.00001",
    "1501.0001",
    "1412.12345",
    "0703.1234",
    "2402.00000",
    "2402.03478v0",
    "2402.03478v",
    "2402.034780",
    "hep-th/0704001",
    "hep-th/9913001",
    "hep-th/9901000",
    "hep-th/990100",
    "HEP-TH/9901001",
    "hello",
    "",
    "   ",
    "x" * 10_000,
    "2402.03478" + " " * 500 + "2402.03478",
    "https://example.com/abs/2402.03478",
    "https://arxiv.org.evil.com/abs/2402.03478",
    "https://arxiv.org:8080/abs/2402.03478",
    "ftp://arxiv.org/abs/2402.03478",
    "https://arxiv.org/list/cs.LG/new",
    "https://arxiv.org/abs/",
    "https://arxiv.org/abs/hello",
    "doi:10.48550/arXiv.2402.03478",
]


@pytest.mark.parametrize(("text", "arxiv_id", "version"), ACCEPTED)
def test_accepted_forms_give_the_identifier_and_version(text: str, arxiv_id: str, version: int | None) -> None:
    """Every form a user may paste yields the bare identifier and the version it names."""
    assert parse_arxiv_id(text) == ArxivId(arxiv_id, version)


@pytest.mark.parametrize("text", REJECTED, ids=lambda t: t[:40] or "empty")
def test_rejected_forms_raise_invalid_arxiv_id(text: str) -> None:
    """Text that is no valid arXiv identifier or arxiv.org URL is refused with InvalidArxivId."""
    with pytest.raises(InvalidArxivId):
        parse_arxiv_id(text)


def test_the_refusal_quotes_the_input_and_names_the_accepted_forms() -> None:
    """The error message repeats what the user typed and shows the forms that work."""
    with pytest.raises(InvalidArxivId) as caught:
        parse_arxiv_id("foo")
    assert str(caught.value) == f"'foo' is not an arXiv identifier. Use a form like {ACCEPTED_FORMS}"
    assert "2402.03478v2" in ACCEPTED_FORMS and "hep-th/9901001" in ACCEPTED_FORMS


def test_a_huge_input_is_not_echoed_back() -> None:
    """A 10,000-character input is quoted in at most about forty characters, on one line."""
    with pytest.raises(InvalidArxivId) as caught:
        parse_arxiv_id("y" * 5_000 + "\n" + "z" * 5_000)
    message = str(caught.value)
    assert len(message) < len(ACCEPTED_FORMS) + 100
    assert "\n" not in message
    assert "y" * 41 not in message


@pytest.mark.parametrize(
    ("ident", "versioned"),
    [
        (ArxivId("2402.03478", 2), "2402.03478v2"),
        (ArxivId("2402.03478", None), "2402.03478"),
        (ArxivId("hep-th/9901001", 1), "hep-th/9901001v1"),
    ],
)
def test_versioned_appends_the_version_only_when_known(ident: ArxivId, versioned: str) -> None:
    """The versioned form carries `vN` when a version was given and is bare otherwise."""
    assert ident.versioned == versioned
