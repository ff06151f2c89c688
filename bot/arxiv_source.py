"""arXiv as a source: identifier parsing, RSS parsing (pure functions) and a polite async client.

`parse_arxiv_id` reads any id or arXiv URL a user may paste; `parse_rss` reads one announcement day
from rss.arxiv.org; `ArxivClient` fetches listings (RSS over httpx) and single papers (the API, via the
`arxiv` package) through one throttle and one retry policy.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import arxiv
import httpx
import requests

from bot.errors import FeedParseError, InvalidArxivId, PaperNotFound, SourceUnavailable
from bot.models import Listing, Paper

log = logging.getLogger(__name__)

T = TypeVar("T")

ACCEPTED_FORMS = (
    "2402.03478, 2402.03478v2, arXiv:2402.03478, hep-th/9901001 or https://arxiv.org/abs/2402.03478"
)

# arXiv's own identifier patterns (arxiv-base `arxiv/identifier`), followed by its range checks below.
NEW_ID = re.compile(r"^(?P<yy>\d\d)(?P<mm>\d\d)\.(?P<num>\d{4,5})(?:v(?P<version>[1-9]\d*))?$")
OLD_ID = re.compile(
    r"^(?P<archive>[a-z]+(?:-[a-z]{2,})?)(?:\.[a-zA-Z-]{2,})?/"
    r"(?P<yy>\d\d)(?P<mm>\d\d)(?P<num>\d{3})(?:v(?P<version>[1-9]\d*))?$"
)
ARXIV_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org", "rss.arxiv.org"})
URL_PATH = re.compile(r"^/(?:abs|pdf|html)/(?P<id>.+?)(?:\.pdf)?/?$")
PREFIX = re.compile(r"^arxiv:\s*", re.IGNORECASE)
MAX_ID_INPUT = 300
SHOWN_INPUT = 40

PREAMBLE = re.compile(
    r"^\s*(?:arXiv:\S+\s+Announce Type:\s*[\w-]+\s*)?Abstract:\s*", re.IGNORECASE
)
DESCRIPTION_ID = re.compile(r"arXiv:(\S+?v\d+)\b")
DESCRIPTION_TYPE = re.compile(r"Announce Type:\s*([\w-]+)", re.IGNORECASE)
AUTHOR_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
UNSAFE_XML = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[A-Za-z]+)*)?$")

NS = {"arxiv": "http://arxiv.org/schemas/atom", "dc": "http://purl.org/dc/elements/1.1/"}
KEPT_TYPES = frozenset({"new", "cross"})
REPLACEMENT_TYPES = frozenset({"replace", "replace-cross"})

ATOM_FEED = re.compile(rb"<feed\b[^>]*http://www\.w3\.org/2005/Atom")
MAX_RETRY_AFTER = 300.0
API_TIMEOUT = 30.0


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


# ---------------------------------------------------------------------------- client


class _Retryable(Exception):
    """A failure worth another attempt (429, 5xx, transport error), with the server's Retry-After."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    """A numeric Retry-After header in seconds (capped), or None."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return min(seconds, MAX_RETRY_AFTER) if seconds >= 0 else None


class _Throttle:
    """Lets one request run at a time and spaces request starts at least `interval` seconds apart."""

    def __init__(self, interval: float, sleep: Callable[[float], Awaitable[None]]) -> None:
        self._interval = interval
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._last_start: float | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for our turn, then hold it while the request runs."""
        async with self._lock:
            if self._last_start is not None:
                wait = self._last_start + self._interval - time.monotonic()
                if wait > 0:
                    await self._sleep(wait)
            self._last_start = time.monotonic()
            yield


def _check_category(category: str) -> str:
    """Return the category if it looks like an arXiv category (`cs.LG`, `hep-th`); ValueError if not."""
    if not CATEGORY.match(category):
        raise ValueError(f"not an arXiv category: {category!r}")
    return category


def _retryable_status(status: int) -> bool:
    """Whether an HTTP status is worth another attempt (429 and every 5xx)."""
    return status == 429 or status >= 500


def _record_responses(session: Any, responses: list[Any]) -> None:
    """Give the `arxiv` package's requests session a default timeout and keep every response it gets.

    arxiv 4.0.2 has no timeout setting and hides the raw answer; its session is the private `_session`.
    """
    original = session.request

    def request(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", API_TIMEOUT)
        response = original(*args, **kwargs)
        responses.append(response)
        return response

    session.request = request


def _query_api(client: Any, versioned: str) -> Any:
    """Run the one-id search, translating the `arxiv` package's failures into ours."""
    try:
        return next(iter(client.results(arxiv.Search(id_list=[versioned], max_results=1))), None)
    except arxiv.HTTPError as exc:
        if _retryable_status(exc.status):
            raise _Retryable(f"HTTP {exc.status}") from None
        raise SourceUnavailable(f"arXiv API answered HTTP {exc.status} for {versioned}") from None
    except (arxiv.UnexpectedEmptyPageError, requests.RequestException) as exc:
        raise _Retryable(type(exc).__name__) from None


def _lookup_sync(query_url_format: str, versioned: str) -> Any:
    """Ask the arXiv API for one id with the `arxiv` package (blocking); the Result or None if unknown."""
    client = arxiv.Client(page_size=1, delay_seconds=0, num_retries=0)
    client.query_url_format = query_url_format
    responses: list[Any] = []
    session = getattr(client, "_session", None)
    if session is not None:
        _record_responses(session, responses)
    try:
        result = _query_api(client, versioned)
    finally:
        if session is not None:
            session.close()
    if result is None and responses and not ATOM_FEED.search(responses[-1].content[:4096]):
        raise FeedParseError(f"arXiv API sent something other than an Atom feed for {versioned}")
    return result


class ArxivClient:
    """Reads arXiv's daily RSS listings and looks single papers up in its API, politely."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        rss_url: str = "https://rss.arxiv.org/rss",
        api_url: str = "https://export.arxiv.org/api/query",
        min_interval: float = 3.0,
        max_attempts: int = 4,
        backoff: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._http = http
        self._rss_url = rss_url.rstrip("/")
        self._query_url_format = f"{api_url}?{{}}"
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._sleep = sleep
        self._throttle = _Throttle(min_interval, sleep)

    async def fetch_listing(self, categories: Sequence[str], *, include_replacements: bool = False) -> Listing:
        """Fetch today's listing of the given categories (`cs.LG+stat.ML` in one request)."""
        if not categories:
            raise ValueError("at least one category is needed")
        joined = "+".join(_check_category(c) for c in categories)
        body = await self._with_retries("arXiv RSS", functools.partial(self._get_rss, joined))
        # A 2,000-paper feed takes a large fraction of a second to parse: not on the event loop that answers users.
        listing = await asyncio.to_thread(parse_rss, body, include_replacements=include_replacements)
        return replace(listing, categories=tuple(categories))

    async def fetch_paper(self, arxiv_id: ArxivId) -> Paper:
        """Look one paper up in the arXiv API; PaperNotFound when arXiv does not know the id."""
        lookup = functools.partial(asyncio.to_thread, _lookup_sync, self._query_url_format, arxiv_id.versioned)
        result = await self._with_retries("arXiv API", lookup)
        if result is None:
            raise PaperNotFound(f"arXiv has no paper {arxiv_id.versioned}")
        return paper_from_result(result)

    async def _get_rss(self, joined: str) -> bytes:
        """One RSS request: the body on 2xx, _Retryable on 429/5xx/transport errors, else SourceUnavailable."""
        try:
            response = await self._http.get(f"{self._rss_url}/{joined}", follow_redirects=True)
        except httpx.TransportError as exc:
            raise _Retryable(type(exc).__name__) from None
        if _retryable_status(response.status_code):
            raise _Retryable(f"HTTP {response.status_code}", _retry_after(response))
        if not response.is_success:
            raise SourceUnavailable(f"arXiv RSS answered HTTP {response.status_code} for {joined}")
        return response.content

    async def _with_retries(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` through the throttle, retrying _Retryable failures with exponential backoff."""
        failure = _Retryable("no attempt made")
        for number in range(1, self._max_attempts + 1):
            try:
                async with self._throttle.slot():
                    return await attempt()
            except _Retryable as exc:
                failure = exc
                log.info("%s attempt %d failed: %s", what, number, exc.reason)
            if number < self._max_attempts:
                await self._sleep(self._delay(number, failure.retry_after))
        raise SourceUnavailable(f"{what} unavailable: {failure.reason} after {self._max_attempts} attempts")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt`: Retry-After if given, else backoff."""
        if retry_after is not None:
            return retry_after
        return float(self._backoff * 2 ** (attempt - 1))
