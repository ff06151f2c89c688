"""The part every fake server shares: an aiohttp application on 127.0.0.1 at a free port."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from aiohttp import web


class LoopbackServer(ABC):
    """Serves `routes` on a free loopback port between `start()` and `close()`, or inside `async with`."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.root_url = ""

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """Add the fake's routes to the application."""

    async def before_close(self) -> None:  # noqa: B027 (a hook: most fakes have nothing to release)
        """Release anything waiting on the server (long polls) before it stops."""

    async def start(self) -> Self:
        """Start serving on 127.0.0.1 and a free port."""
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.root_url = f"http://{host}:{port}"
        return self

    async def close(self) -> None:
        """Stop serving."""
        await self.before_close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class RecordingSleep:
    """An injected sleep that records what it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        """Record the pause."""
        self.calls.append(seconds)
