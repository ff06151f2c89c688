"""A fake arXiv on 127.0.0.1: the RSS feeds (`GET /rss/<cat1+cat2>`) and the API (`GET /api/query`).

RSS answers come from `rss_feeds` (keyed by the path's category part, 404 for others); the API answers
an `id_list` lookup with the Atom reply registered by `add_paper` (or made by `add_entry`) or, like arXiv,
with an empty feed (`opensearch:totalResults` 0) for ids it does not know; an `id_list` of several ids
gets one feed holding the entries of those it knows. `script_rss(...)` and `script_api(...)` queue
canned answers (429, 503, HTML pages...) served before the normal ones; `always_rss`/`always_api` set a
standing one. Every request is recorded with its monotonic arrival time.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Literal

from aiohttp import web

from tests.fakes.loopback import LoopbackServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "arxiv"
Endpoint = Literal["rss", "api"]
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"

EMPTY_API_REPLY = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?{query_link}" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: {query_title}</title>
  <id>http://arxiv.org/api/fake0empty0reply0000000000</id>
  <updated>2024-03-25T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:itemsPerPage>
</feed>
"""


ENTRY = re.compile(r"<entry>.*?</entry>", re.DOTALL)
FEED_OF_ENTRIES = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">ArXiv Query: {query_title}</title>
  <id>http://arxiv.org/api/fake0batch0reply0000000000</id>
  <updated>2024-03-25T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:itemsPerPage>
{entries}
</feed>
"""
ENTRY_TEMPLATE = """  <entry>
    <id>http://arxiv.org/abs/{versioned}</id>
    <updated>2024-03-20T10:00:00Z</updated>
    <published>2024-03-20T10:00:00Z</published>
    <title>{title}</title>
    <summary>{abstract}</summary>
    <author><name>Ada Lovelace</name></author>
    <link href="http://arxiv.org/abs/{versioned}" rel="alternate" type="text/html"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.LG"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""


def fixture_bytes(name: str) -> bytes:
    """The bytes of one file under tests/fixtures/arxiv."""
    return (FIXTURES / name).read_bytes()


@dataclass(frozen=True)
class Canned:
    """One scripted answer: status, body, headers, and how long to hang before answering."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it, with its arrival time on the monotonic clock."""

    endpoint: Endpoint
    path: str
    query: dict[str, str]
    at: float


class FakeArxiv(LoopbackServer):
    """arXiv's RSS and API on a free loopback port; `rss_url` and `api_url` point a client at it."""

    def __init__(self) -> None:
        super().__init__()
        self.rss_feeds: dict[str, bytes] = {}
        self.papers: dict[str, bytes] = {}
        self.requests: list[RecordedRequest] = []
        self._queues: dict[Endpoint, deque[Canned]] = {"rss": deque(), "api": deque()}
        self._always: dict[Endpoint, Canned | None] = {"rss": None, "api": None}

    @property
    def rss_url(self) -> str:
        """The RSS base URL, as `https://rss.arxiv.org/rss`."""
        return f"{self.root_url}/rss"

    @property
    def api_url(self) -> str:
        """The API query URL, as `https://export.arxiv.org/api/query`."""
        return f"{self.root_url}/api/query"

    def routes(self, app: web.Application) -> None:
        """Serve the RSS feeds and the API."""
        app.router.add_get("/rss/{categories}", self._rss)
        app.router.add_get("/api/query", self._api)

    def add_paper(self, arxiv_id: str, reply: bytes) -> None:
        """Answer API lookups of `arxiv_id` (bare or versioned, as the client will ask) with `reply`."""
        self.papers[arxiv_id] = reply

    def add_entry(self, arxiv_id: str, version: int, title: str, abstract: str) -> None:
        """Answer lookups of `arxiv_id` and `arxiv_id`v`version` with a one-entry feed made from these texts."""
        entry = ENTRY_TEMPLATE.format(versioned=f"{arxiv_id}v{version}", title=escape(title), abstract=escape(abstract))
        reply = FEED_OF_ENTRIES.format(query_title=escape(arxiv_id), total=1, entries=entry).encode()
        self.papers[arxiv_id] = self.papers[f"{arxiv_id}v{version}"] = reply

    def api_id_lists(self) -> list[list[str]]:
        """The ids each API request asked for, in order."""
        return [r.query.get("id_list", "").split(",") for r in self.requests if r.endpoint == "api"]

    def script_rss(self, *answers: Canned) -> None:
        """Serve these answers to the next RSS requests, in order, before the normal ones."""
        self._queues["rss"].extend(answers)

    def script_api(self, *answers: Canned) -> None:
        """Serve these answers to the next API requests, in order, before the normal ones."""
        self._queues["api"].extend(answers)

    def always_rss(self, answer: Canned | None) -> None:
        """Serve this answer to every RSS request from now on (None to stop)."""
        self._always["rss"] = answer

    def always_api(self, answer: Canned | None) -> None:
        """Serve this answer to every API request from now on (None to stop)."""
        self._always["api"] = answer

    def count(self, endpoint: Endpoint | None = None) -> int:
        """How many requests arrived, at one endpoint or at both."""
        return sum(1 for r in self.requests if endpoint is None or r.endpoint == endpoint)

    def _record(self, endpoint: Endpoint, request: web.Request) -> Canned | None:
        """Record a request and return the scripted answer it gets, if any."""
        self.requests.append(RecordedRequest(endpoint, request.path, dict(request.query), time.monotonic()))
        if self._queues[endpoint]:
            return self._queues[endpoint].popleft()
        return self._always[endpoint]

    async def _rss(self, request: web.Request) -> web.Response:
        """Serve one RSS feed."""
        scripted = self._record("rss", request)
        if scripted is not None:
            return await _respond_late(scripted)
        feed = self.rss_feeds.get(request.match_info["categories"])
        if feed is None:
            return _respond(Canned(404, b"Not Found"))
        return _respond(Canned(200, feed, RSS_TYPE))

    async def _api(self, request: web.Request) -> web.Response:
        """Serve one API query: the registered reply for a known id, else an empty feed."""
        scripted = self._record("api", request)
        if scripted is not None:
            return await _respond_late(scripted)
        wanted = request.query.get("id_list", "")
        if "," in wanted:
            entries = [e for i in wanted.split(",") for e in ENTRY.findall(self.papers.get(i, b"").decode())]
            body = FEED_OF_ENTRIES.format(query_title=escape(wanted), total=len(entries), entries="\n".join(entries))
            return _respond(Canned(200, body.encode(), ATOM_TYPE))
        reply = self.papers.get(wanted)
        if reply is None:
            reply = EMPTY_API_REPLY.format(
                query_link=escape(request.query_string), query_title=escape(request.query_string)
            ).encode()
        return _respond(Canned(200, reply, ATOM_TYPE))


async def _respond_late(answer: Canned) -> web.Response:
    """A canned answer after its delay (a hanging server)."""
    await asyncio.sleep(answer.delay)
    return _respond(answer)


def _respond(answer: Canned) -> web.Response:
    """An aiohttp response for a canned answer."""
    headers = {"Content-Type": answer.content_type, **answer.headers}
    return web.Response(status=answer.status, body=answer.body, headers=headers)
