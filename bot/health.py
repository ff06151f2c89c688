"""An optional HTTP port (METRICS_PORT): /healthz for liveness checks and /metrics for Prometheus."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.clock import Clock, utc_now
from bot.delivery import Scheduler
from bot.errors import StoreUnavailable
from bot.store import Store
from bot.store.stats import StatsSnapshot

PREFIX = "arxiv_digest_"


class SharedCounters(Collector):
    """The counters every process keeps in Redis, as read for one scrape, in Prometheus' terms."""

    def __init__(self, snap: StatsSnapshot, queue_depth: int) -> None:
        self._snap = snap
        self._queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        """One metric family per counter; a labelled family without samples shows a single 0."""
        snap = self._snap
        yield _labelled(GaugeMetricFamily, "subscribers", "Subscribed chats by platform.", "platform", snap.subscribers)
        yield CounterMetricFamily(f"{PREFIX}digests_sent_total", "Digests delivered.", value=snap.sent_total)
        yield _labelled(
            CounterMetricFamily, "send_failures_total", "Deliveries that failed, by reason.", "reason", snap.failures
        )
        yield CounterMetricFamily(f"{PREFIX}llm_calls_total", "Requests made to the LLM.", value=snap.llm_calls_total)
        yield CounterMetricFamily(
            f"{PREFIX}llm_tokens_total", "Tokens the LLM reported using.", value=snap.llm_tokens_total
        )
        yield GaugeMetricFamily(
            f"{PREFIX}arxiv_fetch_seconds", "Duration of the last fetch of arXiv's listing.", value=snap.fetch_seconds
        )
        yield GaugeMetricFamily(f"{PREFIX}queue_depth", "Deliveries queued or in progress.", value=self._queue_depth)


def _labelled(
    family: type[GaugeMetricFamily | CounterMetricFamily], name: str, doc: str, label: str, counts: Mapping[str, int]
) -> Metric:
    """A metric with one sample per label value, or a lone 0 when there are none yet."""
    if not counts:
        return family(PREFIX + name, doc, value=0)
    metric = family(PREFIX + name, doc, labels=[label])
    for value, count in sorted(counts.items()):
        metric.add_metric([value], count)
    return metric


def render_metrics(snap: StatsSnapshot, queue_depth: int) -> bytes:
    """The counters in Prometheus' text exposition format, by prometheus_client's registry."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SharedCounters(snap, queue_depth))
    return generate_latest(registry)


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
        snap = await self.store.stats.snapshot(self.clock().date())
        depth = await self.store.delivery.queue_depth()
        return web.Response(body=render_metrics(snap, depth), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def start_health_server(health: Health, host: str, port: int) -> web.AppRunner:
    """Serve /healthz and /metrics; returns the runner to clean up at shutdown."""
    app = web.Application()
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", health.metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
