"""arXiv's formats, as pure functions: identifiers, the RSS listing, and the API's results.

`parse_arxiv_id` reads any id or arXiv URL a user may paste; `parse_rss` reads one announcement day
from rss.arxiv.org; `paper_from_result` converts an `arxiv.Result`. The client that fetches them is
`bot.arxiv_client.ArxivClient`.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.errors import FeedParseError, InvalidArxivId
from bot.models import Listing, Paper

log = logging.getLogger(__name__)

ACCEPTED_FORMS = "2402.03478, 2402.03478v2, arXiv:2402.03478, hep-th/9901001 or https://arxiv.org/abs/2402.03478"

# arXiv's own identifier patterns (arxiv-base `arxiv/identifier`), followed by its range checks below.
# ASCII digits only: `\d` alone would also take Arabic-Indic and other digits and send them to arXiv.
NEW_ID = re.compile(r"^(?P<yy>\d\d)(?P<mm>\d\d)\.(?P<num>\d{4,5})(?:v(?P<version>[1-9]\d*))?$", re.ASCII)
OLD_ID = re.compile(
    r"^(?P<archive>[a-z]+(?:-[a-z]{2,})?)(?:\.[a-zA-Z-]{2,})?/"
    r"(?P<yy>\d\d)(?P<mm>\d\d)(?P<num>\d{3})(?:v(?P<version>[1-9]\d*))?$",
    re.ASCII,
)
ARXIV_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org", "rss.arxiv.org"})
URL_PATH = re.compile(r"^/(?:abs|pdf|html)/(?P<id>.+?)(?:\.pdf)?/?$")
PREFIX = re.compile(r"^arxiv:\s*", re.IGNORECASE)
MAX_ID_INPUT = 300
SHOWN_INPUT = 40

PREAMBLE = re.compile(r"^\s*(?:arXiv:\S+\s+Announce Type:\s*[\w-]+\s*)?Abstract:\s*", re.IGNORECASE)
DESCRIPTION_ID = re.compile(r"arXiv:(\S+?v\d+)\b")
DESCRIPTION_TYPE = re.compile(r"Announce Type:\s*([\w-]+)", re.IGNORECASE)
AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
UNSAFE_XML = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)

NS = {"arxiv": "http://arxiv.org/schemas/atom", "dc": "http://purl.org/dc/elements/1.1/"}
KEPT_TYPES = frozenset({"new", "cross"})
REPLACEMENT_TYPES = frozenset({"replace", "replace-cross"})


# ---------------------------------------------------------------------------- identifiers


@dataclass(frozen=True)
class ArxivId:
    """A checked arXiv identifier without its version, and the version when one was given."""

    arxiv_id: str
    version: int | None = None

    @property
    def versioned(self) -> str:
        """The identifier with its version suffix when known (`2402.03478v2`), else the bare one."""
        return f"{self.arxiv_id}v{self.version}" if self.version else self.arxiv_id


def _invalid(text: str) -> InvalidArxivId:
    """The error for text that is no identifier, quoting at most ~40 characters of it on one line."""
    shown = " ".join(text.split())
    if len(shown) > SHOWN_INPUT:
        shown = shown[: SHOWN_INPUT - 3] + "..."
    return InvalidArxivId(f"'{shown}' is not an arXiv identifier. Use a form like {ACCEPTED_FORMS}")


def _version(match: re.Match[str]) -> int | None:
    """The version group of an identifier match as an int, or None."""
    return int(match["version"]) if match["version"] else None


def _new_style(text: str) -> ArxivId | None:
    """Parse `YYMM.NNNN[N][vN]`: month 1-12, from 0704, 4 digits before 1501 and 5 from then on."""
    match = NEW_ID.match(text)
    if not match:
        return None
    yymm, num = int(match["yy"] + match["mm"]), match["num"]
    if not 1 <= int(match["mm"]) <= 12 or yymm < 704 or int(num) == 0:
        return None
    if len(num) != (5 if yymm >= 1501 else 4):
        return None
    return ArxivId(f"{match['yy']}{match['mm']}.{num}", _version(match))


def _old_style(text: str) -> ArxivId | None:
    """Parse `archive[.SC]/YYMMNNN[vN]` from 1991 to 2007-03; the subject class is not part of the id."""
    match = OLD_ID.match(text)
    if not match:
        return None
    yy, mm = int(match["yy"]), int(match["mm"])
    year = 1900 + yy if yy >= 91 else 2000 + yy
    if not 1 <= mm <= 12 or int(match["num"]) == 0 or not (1991 <= year <= 2007):
        return None
    if year == 2007 and mm > 3:
        return None
    return ArxivId(f"{match['archive']}/{match['yy']}{match['mm']}{match['num']}", _version(match))


def _bare_id(text: str) -> ArxivId | None:
    """Parse an identifier without URL, with or without the `arXiv:` prefix."""
    text = PREFIX.sub("", text, count=1)
    return _new_style(text) or _old_style(text)


def _from_url(text: str) -> ArxivId | None:
    """Parse an arxiv.org abs, pdf or html URL (scheme optional); None if it is no such URL."""
    if not re.match(r"^https?://", text, re.IGNORECASE):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        if (parts.hostname or "").lower() not in ARXIV_HOSTS or parts.port is not None:
            return None
    except ValueError:
        return None
    match = URL_PATH.match(unquote(parts.path))
    return _bare_id(match["id"]) if match else None


def parse_arxiv_id(text: str) -> ArxivId:
    """Read an arXiv identifier or arXiv URL as a user may paste it; raise InvalidArxivId otherwise."""
    cleaned = text.strip()
    if cleaned.startswith("<") and cleaned.endswith(">"):
        cleaned = cleaned[1:-1].strip()
    parsed = None
    if 0 < len(cleaned) <= MAX_ID_INPUT:
        parsed = (_from_url(cleaned) if "/" in cleaned else None) or _bare_id(cleaned)
    if parsed is None:
        raise _invalid(text)
    return parsed


# ---------------------------------------------------------------------------- RSS


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace into one space and strip the ends."""
    return " ".join(text.split())


def strip_rss_preamble(description: str) -> str:
    """Drop RSS's `arXiv:IDvN Announce Type: X Abstract:` preamble and normalise the abstract's spaces."""
    return normalise_space(PREAMBLE.sub("", description, count=1))


def _text(element: ET.Element, path: str) -> str:
    """The stripped text of the first child at `path`, or an empty string."""
    found = element.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def _rfc822_day(value: str) -> date | None:
    """The calendar date of an RFC 822 timestamp in its own offset, or None if it cannot be read."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        return None


def _split_authors(creator: str) -> tuple[str, ...]:
    """Split `dc:creator` (`A, B and C`, `A, B, and C`) into names."""
    return tuple(name for name in AUTHOR_SEPARATOR.split(normalise_space(creator)) if name)


def _item_id(item: ET.Element, description: str) -> ArxivId | None:
    """The versioned id of an item, from its guid, else its description, else its link."""
    guid = _text(item, "guid").removeprefix("oai:arXiv.org:")
    found = DESCRIPTION_ID.search(description)
    for candidate in (guid, found[1] if found else "", _text(item, "link")):
        try:
            return parse_arxiv_id(candidate)
        except InvalidArxivId:
            continue
    return None


def _announce_type(item: ET.Element, description: str) -> str:
    """The item's announce type from `arxiv:announce_type`, else from its description, else `new`."""
    declared = _text(item, "arxiv:announce_type")
    if declared:
        return declared.lower()
    found = DESCRIPTION_TYPE.search(description)
    return found[1].lower() if found else "new"


def _paper_from_item(item: ET.Element) -> Paper | None:
    """Build a Paper from one RSS item, or None when the item names no arXiv identifier."""
    description = _text(item, "description")
    ident = _item_id(item, description)
    if ident is None:
        log.warning("skipping an RSS item without an arXiv id: %.80s", _text(item, "title"))
        return None
    return Paper(
        arxiv_id=ident.arxiv_id,
        version=ident.version,
        title=normalise_space(_text(item, "title")),
        abstract=strip_rss_preamble(description),
        url=f"https://arxiv.org/abs/{ident.arxiv_id}",
        authors=_split_authors(_text(item, "dc:creator")),
        categories=tuple(normalise_space(c.text or "") for c in item.findall("category") if c.text),
        announce_type=_announce_type(item, description),
    )


def _channel(xml: bytes) -> ET.Element:
    """Parse the document and return its RSS channel; FeedParseError for anything else."""
    if UNSAFE_XML.search(xml):
        kind = "an HTML page" if b"<html" in xml[:2048].lower() else "a document with a DOCTYPE"
        raise FeedParseError(f"arXiv sent {kind} instead of an RSS feed")
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise FeedParseError(f"arXiv's RSS feed is not well-formed XML ({exc})") from None
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        raise FeedParseError(f"arXiv sent <{root.tag.rpartition('}')[2]}> instead of an RSS feed")
    return channel


def _listing_day(channel: ET.Element) -> date | None:
    """The announcement day: channel pubDate, else lastBuildDate, else the first item's pubDate."""
    for path in ("pubDate", "lastBuildDate", "item/pubDate"):
        day = _rfc822_day(_text(channel, path))
        if day is not None:
            return day
    return None


def _wanted(paper: Paper, include_replacements: bool) -> bool:
    """Whether a paper's announce type belongs in the listing."""
    if paper.announce_type in KEPT_TYPES:
        return True
    return include_replacements and paper.announce_type in REPLACEMENT_TYPES


def parse_rss(xml: bytes, *, include_replacements: bool = False) -> Listing:
    """Read one day's arXiv RSS feed into a Listing (empty on days without announcements)."""
    channel = _channel(xml)
    papers: dict[str, Paper] = {}
    for item in channel.findall("item"):
        paper = _paper_from_item(item)
        if paper is not None and _wanted(paper, include_replacements):
            papers.setdefault(paper.arxiv_id, paper)
    return Listing(papers=tuple(papers.values()), day=_listing_day(channel))


# ---------------------------------------------------------------------------- API results


def paper_from_result(result: Any) -> Paper:
    """Convert an `arxiv.Result` into a Paper (id and version from its entry_id)."""
    ident = parse_arxiv_id(result.entry_id)
    return Paper(
        arxiv_id=ident.arxiv_id,
        version=ident.version,
        title=normalise_space(result.title),
        abstract=normalise_space(result.summary),
        url=f"https://arxiv.org/abs/{ident.arxiv_id}",
        authors=tuple(normalise_space(author.name) for author in result.authors),
        categories=tuple(result.categories),
        announce_type="new",
    )
