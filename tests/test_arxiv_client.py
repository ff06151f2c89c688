"""The arXiv client against a fake arXiv on 127.0.0.1: listings, paper lookups, retries and politeness."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import date

import arxiv
import httpx
import pytest

from bot.arxiv_client import ArxivClient
from bot.arxiv_source import ArxivId, paper_from_result
from bot.errors import FeedParseError, PaperNotFound, SourceUnavailable
from bot.models import Paper
from tests.fakes.arxiv_server import Canned, FakeArxiv, fixture_bytes
from tests.fakes.loopback import RecordingSleep

FEED = "rss_cs.LG+stat.ML.xml"


@pytest.fixture(name="arxiv_server")
async def fixture_arxiv_server() -> AsyncIterator[FakeArxiv]:
    """A running fake arXiv serving the cs.LG+stat.ML feed and one paper, stopped after the test."""
    async with FakeArxiv() as server:
        server.rss_feeds["cs.LG+stat.ML"] = fixture_bytes(FEED)
        server.add_paper("2402.03478v2", fixture_bytes("api_2402.03478v2.xml"))
        server.add_paper("2402.03478", fixture_bytes("api_2402.03478v2.xml"))
        yield server


@pytest.fixture(name="http")
async def fixture_http() -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client that ignores proxy settings from the environment."""
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
        yield http


@pytest.fixture(name="sleep")
def fixture_sleep() -> RecordingSleep:
    """A sleep that records its calls instead of waiting."""
    return RecordingSleep()


@pytest.fixture(name="client")
def fixture_client(http: httpx.AsyncClient, arxiv_server: FakeArxiv, sleep: RecordingSleep) -> ArxivClient:
    """An ArxivClient pointed at the fake, without spacing, sleeping through the recorder."""
    return ArxivClient(http, rss_url=arxiv_server.rss_url, api_url=arxiv_server.api_url, min_interval=0, sleep=sleep)


async def test_fetch_listing_reads_the_combined_feed(client: ArxivClient, arxiv_server: FakeArxiv) -> None:
    """Two categories are fetched in one request to /rss/cs.LG+stat.ML and parsed into a dated listing."""
    listing = await client.fetch_listing(["cs.LG", "stat.ML"])
    assert [r.path for r in arxiv_server.requests] == ["/rss/cs.LG+stat.ML"]
    assert listing.categories == ("cs.LG", "stat.ML")
    assert listing.day == date(2024, 3, 25)
    assert [p.arxiv_id for p in listing.papers] == ["2403.15001", "2403.15603", "2403.15210"]


async def test_fetch_listing_passes_include_replacements(client: ArxivClient) -> None:
    """Asking for replacements returns the replaced papers too."""
    listing = await client.fetch_listing(["cs.LG", "stat.ML"], include_replacements=True)
    assert "2310.01234" in {p.arxiv_id for p in listing.papers}


async def test_a_503_is_retried_with_backoff(
    client: ArxivClient, arxiv_server: FakeArxiv, sleep: RecordingSleep
) -> None:
    """A 503 followed by success yields the listing after one backoff pause."""
    arxiv_server.script_rss(Canned(503, b"Service Unavailable"))
    listing = await client.fetch_listing(["cs.LG", "stat.ML"])
    assert len(listing.papers) == 3
    assert arxiv_server.count("rss") == 2
    assert sleep.calls == [2.0]


async def test_backoff_doubles_and_honours_retry_after(
    client: ArxivClient, arxiv_server: FakeArxiv, sleep: RecordingSleep
) -> None:
    """Pauses double between attempts, except that a numeric Retry-After header is obeyed."""
    arxiv_server.script_rss(Canned(502), Canned(429, headers={"Retry-After": "7"}), Canned(500))
    await client.fetch_listing(["cs.LG", "stat.ML"])
    assert sleep.calls == [2.0, 7.0, 8.0]


async def test_persistent_429_gives_source_unavailable(
    client: ArxivClient, arxiv_server: FakeArxiv, sleep: RecordingSleep
) -> None:
    """A server answering 429 every time makes four attempts, then raises a one-line SourceUnavailable."""
    arxiv_server.always_rss(Canned(429, b"Rate exceeded."))
    with pytest.raises(SourceUnavailable) as caught:
        await client.fetch_listing(["cs.LG", "stat.ML"])
    assert str(caught.value) == "arXiv RSS unavailable: HTTP 429 after 4 attempts"
    assert arxiv_server.count("rss") == 4
    assert sleep.calls == [2.0, 4.0, 8.0]


async def test_backoff_is_capped_like_the_llm_s(http: httpx.AsyncClient, arxiv_server: FakeArxiv) -> None:
    """With more attempts allowed, the doubling pauses stop growing at the shared cap of 30 s."""
    sleep = RecordingSleep()
    client = ArxivClient(http, rss_url=arxiv_server.rss_url, min_interval=0, max_attempts=6, sleep=sleep)
    arxiv_server.always_rss(Canned(503))
    with pytest.raises(SourceUnavailable, match="after 6 attempts"):
        await client.fetch_listing(["cs.LG"])
    assert sleep.calls == [2.0, 4.0, 8.0, 16.0, 30.0]


async def test_a_404_is_not_retried(client: ArxivClient, arxiv_server: FakeArxiv) -> None:
    """An unknown feed answers 404 once and gives SourceUnavailable naming the status."""
    with pytest.raises(SourceUnavailable, match=r"HTTP 404 for cs\.XX"):
        await client.fetch_listing(["cs.XX"])
    assert arxiv_server.count("rss") == 1


async def test_an_unreachable_server_gives_source_unavailable(http: httpx.AsyncClient) -> None:
    """A closed port is retried and then reported as SourceUnavailable, naming the transport error."""
    server = await FakeArxiv().start()
    rss_url = server.rss_url
    await server.close()
    client = ArxivClient(http, rss_url=rss_url, min_interval=0, max_attempts=2, sleep=RecordingSleep())
    with pytest.raises(SourceUnavailable, match="ConnectError after 2 attempts"):
        await client.fetch_listing(["cs.LG"])


async def test_an_html_page_with_status_200_is_a_feed_parse_error(client: ArxivClient, arxiv_server: FakeArxiv) -> None:
    """An HTML maintenance page served as 200 raises FeedParseError, not an empty digest."""
    arxiv_server.script_rss(Canned(200, fixture_bytes("error_page.html"), "text/html"))
    with pytest.raises(FeedParseError):
        await client.fetch_listing(["cs.LG", "stat.ML"])


async def test_a_weekend_feed_gives_an_empty_listing(client: ArxivClient, arxiv_server: FakeArxiv) -> None:
    """On a weekend the fetched listing is empty rather than an error."""
    arxiv_server.rss_feeds["cs.LG"] = fixture_bytes("rss_weekend_empty.xml")
    listing = await client.fetch_listing(["cs.LG"])
    assert listing.empty
    assert listing.categories == ("cs.LG",)


async def test_a_category_that_could_escape_the_path_is_refused(client: ArxivClient) -> None:
    """A category that is not of arXiv's form is refused before any request is made."""
    with pytest.raises(ValueError, match="not an arXiv category"):
        await client.fetch_listing(["../api/query?x="])


async def test_fetch_paper_returns_the_paper(client: ArxivClient, arxiv_server: FakeArxiv) -> None:
    """Looking up a known id returns its metadata with normalised title and abstract."""
    paper = await client.fetch_paper(ArxivId("2402.03478", 2))
    assert arxiv_server.requests[-1].query["id_list"] == "2402.03478v2"
    assert (paper.arxiv_id, paper.version) == ("2402.03478", 2)
    assert paper.title == "Token-Level Uncertainty Estimates for Retrieval-Augmented Language Models"
    assert paper.abstract.startswith("Retrieval-augmented language models answer questions from retrieved passages,")
    assert paper.abstract.endswith("at a 10% false-alarm rate.")
    assert paper.authors == ("Wei Zhang", "Laura Schmidt", "Kofi Mensah")
    assert paper.categories == ("cs.CL", "cs.LG")
    assert paper.url == "https://arxiv.org/abs/2402.03478"
    assert paper.announce_type == "new"


async def test_fetch_paper_without_version_gets_the_latest(client: ArxivClient) -> None:
    """A bare id is looked up as is and the answer tells which version is current."""
    paper = await client.fetch_paper(ArxivId("2402.03478", None))
    assert paper.version == 2


async def test_fetch_paper_of_an_unknown_id_raises_paper_not_found(client: ArxivClient) -> None:
    """An id arXiv answers with an empty feed for raises PaperNotFound naming the id."""
    with pytest.raises(PaperNotFound, match=r"arXiv has no paper 2501\.99999"):
        await client.fetch_paper(ArxivId("2501.99999", None))


async def test_fetch_paper_retries_a_503(client: ArxivClient, arxiv_server: FakeArxiv, sleep: RecordingSleep) -> None:
    """An API 503 followed by a good answer still returns the paper."""
    arxiv_server.script_api(Canned(503))
    paper = await client.fetch_paper(ArxivId("2402.03478", 2))
    assert paper.version == 2
    assert arxiv_server.count("api") == 2
    assert sleep.calls == [2.0]


async def test_fetch_paper_gives_source_unavailable_when_the_api_stays_down(
    client: ArxivClient, arxiv_server: FakeArxiv
) -> None:
    """An API answering 503 every time gives a one-line SourceUnavailable after four attempts."""
    arxiv_server.always_api(Canned(503))
    with pytest.raises(SourceUnavailable) as caught:
        await client.fetch_paper(ArxivId("2402.03478", 2))
    assert str(caught.value) == "arXiv API unavailable: HTTP 503 after 4 attempts"
    assert arxiv_server.count("api") == 4


async def test_fetch_paper_does_not_retry_a_400(client: ArxivClient, arxiv_server: FakeArxiv) -> None:
    """A 400 from the API is reported at once as SourceUnavailable naming the status."""
    arxiv_server.always_api(Canned(400))
    with pytest.raises(SourceUnavailable, match=r"HTTP 400 for 2402\.03478v2"):
        await client.fetch_paper(ArxivId("2402.03478", 2))
    assert arxiv_server.count("api") == 1


async def test_fetch_paper_reports_an_html_page_instead_of_not_found(
    client: ArxivClient, arxiv_server: FakeArxiv
) -> None:
    """An HTML maintenance page served as 200 by the API is a FeedParseError, not "no such paper"."""
    arxiv_server.always_api(Canned(200, fixture_bytes("error_page.html"), "text/html"))
    with pytest.raises(FeedParseError):
        await client.fetch_paper(ArxivId("2402.03478", 2))


async def test_fetch_paper_from_an_unreachable_api_gives_source_unavailable(http: httpx.AsyncClient) -> None:
    """A closed API port is retried and then reported as SourceUnavailable."""
    server = await FakeArxiv().start()
    api_url = server.api_url
    await server.close()
    client = ArxivClient(http, api_url=api_url, min_interval=0, max_attempts=2, sleep=RecordingSleep())
    with pytest.raises(SourceUnavailable, match="ConnectionError after 2 attempts"):
        await client.fetch_paper(ArxivId("2402.03478", 2))


async def test_requests_are_spaced_by_min_interval(http: httpx.AsyncClient, arxiv_server: FakeArxiv) -> None:
    """RSS and API requests share one throttle: each waits out min_interval since the previous start."""
    sleep = RecordingSleep()
    client = ArxivClient(
        http, rss_url=arxiv_server.rss_url, api_url=arxiv_server.api_url, min_interval=3.0, sleep=sleep
    )
    await client.fetch_listing(["cs.LG", "stat.ML"])
    assert sleep.calls == []
    await client.fetch_paper(ArxivId("2402.03478", 2))
    await client.fetch_listing(["cs.LG", "stat.ML"])
    assert len(sleep.calls) == 2
    assert all(2.0 < pause <= 3.0 for pause in sleep.calls)


async def test_real_spacing_with_a_tiny_interval(http: httpx.AsyncClient, arxiv_server: FakeArxiv) -> None:
    """With a real sleep, request arrivals at the server are at least min_interval apart."""
    client = ArxivClient(http, rss_url=arxiv_server.rss_url, api_url=arxiv_server.api_url, min_interval=0.05)
    await client.fetch_listing(["cs.LG", "stat.ML"])
    await client.fetch_paper(ArxivId("2402.03478", 2))
    await client.fetch_listing(["cs.LG", "stat.ML"])
    times = [r.at for r in arxiv_server.requests]
    assert len(times) == 3
    assert all(later - earlier >= 0.045 for earlier, later in itertools.pairwise(times))


def test_an_old_style_result_converts_to_a_paper() -> None:
    """An API result for an old-style id keeps the archive/number id and its version."""
    result = arxiv.Result(
        entry_id="http://arxiv.org/abs/hep-th/9901001v3",
        title="An  Old\n  Paper",
        summary="  Line one\nline two. ",
        authors=[arxiv.Result.Author("E. Witten")],
        categories=["hep-th"],
    )
    paper = paper_from_result(result)
    assert (paper.arxiv_id, paper.version, paper.title, paper.abstract) == (
        "hep-th/9901001",
        3,
        "An Old Paper",
        "Line one line two.",
    )
    assert paper.url == "https://arxiv.org/abs/hep-th/9901001"


async def test_concurrent_lookups_of_one_id_share_one_request(client: ArxivClient, arxiv_server: FakeArxiv) -> None:
    """Twenty users asking for the same paper at once cause one API request, and all get the paper."""
    papers = await asyncio.gather(*(client.fetch_paper(ArxivId("2402.03478", 2)) for _ in range(20)))
    assert {p.versioned_id for p in papers} == {"2402.03478v2"}
    assert arxiv_server.count("api") == 1


async def test_waiting_ids_go_out_together_in_one_request(http: httpx.AsyncClient, arxiv_server: FakeArxiv) -> None:
    """Ids asked for while a lookup runs are sent in one request with id_list; unknown ones are not found."""
    for n in range(1, 11):
        arxiv_server.add_entry(f"2403.{30000 + n}", 1, f"Paper {n}", f"Abstract {n}.")
    client = ArxivClient(http, rss_url=arxiv_server.rss_url, api_url=arxiv_server.api_url, min_interval=0.2)
    first = asyncio.create_task(client.fetch_paper(ArxivId("2403.30001", None)))
    await asyncio.sleep(0.01)
    rest = [ArxivId(f"2403.{30000 + n}", None) for n in range(2, 11)] + [ArxivId("2403.39999", None)]
    results = await asyncio.gather(first, *(client.fetch_paper(i) for i in rest), return_exceptions=True)
    assert [r.title for r in results[:10] if isinstance(r, Paper)] == [f"Paper {n}" for n in range(1, 11)]
    assert isinstance(results[10], PaperNotFound)
    assert arxiv_server.api_id_lists() == [["2403.30001"], [i.versioned for i in rest]]
    assert client.api_requests == 2


async def test_the_daily_listing_goes_before_waiting_lookups(http: httpx.AsyncClient, arxiv_server: FakeArxiv) -> None:
    """A listing fetch asked for while lookups queue is the next request; the lookups follow, spaced."""
    for n in range(1, 4):
        arxiv_server.add_entry(f"2403.{30000 + n}", 1, f"Paper {n}", f"Abstract {n}.")
    client = ArxivClient(http, rss_url=arxiv_server.rss_url, api_url=arxiv_server.api_url, min_interval=0.2)
    lookups = [asyncio.create_task(client.fetch_paper(ArxivId("2403.30001", None)))]
    await asyncio.sleep(0.05)  # the first lookup has gone out; the next ones wait for their turn
    lookups += [asyncio.create_task(client.fetch_paper(ArxivId(f"2403.{30000 + n}", None))) for n in (2, 3)]
    await asyncio.sleep(0.01)
    listing = await client.fetch_listing(["cs.LG", "stat.ML"])
    await asyncio.gather(*lookups)
    assert [r.endpoint for r in arxiv_server.requests] == ["api", "rss", "api"]
    assert arxiv_server.api_id_lists()[1] == ["2403.30002", "2403.30003"]
    assert len(listing.papers) == 3
    times = [r.at for r in arxiv_server.requests]
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(times))


async def test_a_paper_looked_up_lately_is_not_asked_for_again(client: ArxivClient, arxiv_server: FakeArxiv) -> None:
    """Asking again for a version looked up a moment ago is answered from memory, without a request."""
    first = await client.fetch_paper(ArxivId("2402.03478", 2))
    again = await client.fetch_paper(ArxivId("2402.03478", 2))
    assert first == again and arxiv_server.count("api") == 1
