"""A small round-robin HTTP proxy for the webhook benchmark: each POST goes to the next replica in turn.

It stands in for the load balancer in front of `run` replicas: the body and Telegram's secret header are passed
on unchanged, and the replica's status comes back. Not part of the bot: production uses a real balancer.
"""

from __future__ import annotations

import itertools

import httpx
from aiohttp import web

from tests.fakes.loopback import LoopbackServer

FORWARDED_HEADERS = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


class RoundRobinProxy(LoopbackServer):
    """Forwards every POST to the next of `upstreams` (base URLs), keeping the request's path."""

    def __init__(self, upstreams: list[str]) -> None:
        super().__init__()
        self._next = itertools.cycle(upstreams)
        self._client = httpx.AsyncClient(trust_env=False, timeout=30, limits=httpx.Limits(max_connections=200))

    def routes(self, app: web.Application) -> None:
        """Forward every path."""
        app.router.add_post("/{tail:.*}", self._forward)

    async def _forward(self, request: web.Request) -> web.Response:
        """Pass the request to the next replica and its answer back."""
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        answer = await self._client.post(next(self._next) + request.path, content=await request.read(), headers=headers)
        return web.Response(status=answer.status_code, body=answer.content)

    async def before_close(self) -> None:
        """Close the upstream connections."""
        await self._client.aclose()
