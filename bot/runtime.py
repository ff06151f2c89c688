"""Build the running parts from Settings (Redis, HTTP client, arXiv source, translator) and close them again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from bot.arxiv_client import ArxivClient
from bot.config import Settings
from bot.errors import StoreUnavailable
from bot.local_redis import ensure_local_redis
from bot.service import DigestService
from bot.store import Store
from bot.translate import Translator

log = logging.getLogger(__name__)
USER_AGENT = "arxiv-digest/0.1 (+https://github.com/arxiv-digest/arxiv-digest)"


@dataclass
class Runtime:
    """The connected services one process works with."""

    settings: Settings
    store: Store
    http: httpx.AsyncClient
    service: DigestService

    @property
    def revive_redis(self) -> Callable[[], Awaitable[None]] | None:
        """Start the bot's own redis-server again when it died (None when REDIS_URL names a server)."""
        if self.settings.redis_url is not None:
            return None
        data_dir = self.settings.data_dir

        async def revive() -> None:
            await asyncio.to_thread(ensure_local_redis, data_dir)

        return revive


@asynccontextmanager
async def redis_store(settings: Settings) -> AsyncIterator[Store]:
    """A Store on REDIS_URL, or on the bot's own redis-server under the data directory when it is unset.

    The bot's own server is detached: it keeps running for the other processes when this one exits.
    """
    url = settings.redis_url.reveal() if settings.redis_url is not None else None
    if url is None:
        try:
            url = ensure_local_redis(settings.data_dir)
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot use the data directory {settings.data_dir} ({exc.strerror or exc}): set DATA_DIR to a "
                "directory this user can write, or REDIS_URL to a Redis server"
            ) from None
        log.info("no REDIS_URL set: using the bot's own redis-server, data in %s", settings.data_dir / "redis")
    store = Store.from_url(url, cluster=settings.redis_cluster)
    try:
        await store.ping()
        await store.rename_legacy_keys()
        yield store
    finally:
        await store.close()


def build_service(settings: Settings, store: Store, http: httpx.AsyncClient) -> DigestService:
    """Wire the arXiv source and the translator (None when no LLM is configured) into the service."""
    source = ArxivClient(
        http,
        rss_url=settings.arxiv_rss_url,
        api_url=settings.arxiv_api_url,
        min_interval=settings.arxiv_min_interval,
    )
    stats = store.stats
    translator = Translator(http, settings.llm, store, stats=stats) if settings.llm is not None else None
    budget = store.budget(settings.paper_translations_per_user_hour, settings.paper_translations_per_user_day)
    return DigestService(source=source, store=store, translator=translator, stats=stats, budget=budget)


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Connect everything the settings describe; close it all on exit."""
    async with (
        redis_store(settings) as store,
        httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT}, timeout=httpx.Timeout(30.0), follow_redirects=True
        ) as http,
    ):
        yield Runtime(settings, store, http, build_service(settings, store, http))
