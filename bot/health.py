"""An optional HTTP port (METRICS_PORT): /healthz for liveness checks and /metrics for Prometheus."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from bot.clock import Clock, utc_now
from bot.errors import StoreUnavailable
from bot.schedule import Scheduler
from bot.store import Store
from bot.store.delivery import DeliveryState
from bot.store.stats import Stats, StatsSnapshot

PREFIX = "arxiv_digest_"


def _metric(name: str, kind: str, doc: str, samples: Mapping[str, float]) -> list[str]:
    """One metric in Prometheus' text format; samples map a label string ('' for none) to a value."""
    lines = [f"# HELP {PREFIX}{name} {doc}", f"# TYPE {PREFIX}{name} {kind}"]
    lines += [f"{PREFIX}{name}{labels} {value:g}" for labels, value in samples.items()]
    return lines


def render_metrics(snap: StatsSnapshot, queue_depth: int) -> str:
    """The counters in Prometheus' text exposition format."""
    lines = [
        *_metric("subscribers", "gauge", "Subscribed chats by platform.",
                 {f'{{platform="{p}"}}': n for p, n in sorted(snap.subscribers.items())} or {"": 0}),
        *_metric("digests_sent_total", "counter", "Digests delivered.", {"": snap.sent_total}),
        *_metric("send_failures_total", "counter", "Deliveries that failed, by reason.",
                 {f'{{reason="{r}"}}': n for r, n in sorted(snap.failures.items())} or {"": 0}),
        *_metric("llm_calls_total", "counter", "Requests made to the LLM.", {"": snap.llm_calls_total}),
        *_metric("llm_tokens_total", "counter", "Tokens the LLM reported using.", {"": snap.llm_tokens_total}),
        *_metric("arxiv_fetch_seconds", "gauge", "Duration of the last fetch of arXiv's listing.",
                 {"": snap.fetch_seconds}),
        *_metric("queue_depth", "gauge", "Deliveries queued or in progress.", {"": queue_depth}),
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Health:
    """What /healthz and /metrics report on: Redis, the scheduler, the chat adapters."""

    store: Store
    scheduler: Scheduler | None = None
    adapters: Mapping[str, Callable[[], bool]] = field(default_factory=dict)
    clock: Clock = utc_now

    async def checks(self) -> dict[str, bool]:
        """Each component's state: True when healthy."""
        try:
            await self.store.ping()
            redis_ok = True
        except StoreUnavailable:
            redis_ok = False
        result = {"redis": redis_ok}
        if self.scheduler is not None:
            result["scheduler"] = self.scheduler.alive(self.clock())
        result.update({f"adapter:{name}": connected() for name, connected in self.adapters.items()})
        return result

    async def healthz(self, request: web.Request) -> web.Response:
        """200 with the checks when all pass, 503 otherwise."""
        checks = await self.checks()
        status = 200 if all(checks.values()) else 503
        return web.Response(status=status, text=json.dumps(checks), content_type="application/json")

    async def metrics(self, request: web.Request) -> web.Response:
        """The shared counters for Prometheus."""
        client = self.store.redis
        snap = await Stats(client).snapshot(self.clock().date())
        depth = await DeliveryState(client).queue_depth()
        return web.Response(text=render_metrics(snap, depth), content_type="text/plain", charset="utf-8")


async def start_health_server(health: Health, host: str, port: int) -> web.AppRunner:
    """Serve /healthz and /metrics; returns the runner to clean up at shutdown."""
    app = web.Application()
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", health.metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
