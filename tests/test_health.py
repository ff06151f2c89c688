"""/healthz and /metrics over HTTP."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.health import Health, start_health_server
from bot.redis_server import free_port
from bot.store import Store
from bot.subscribers import ChatRef, Subscriber


async def _get(port: int, path: str) -> httpx.Response:
    """GET a path of the health server."""
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.get(f"http://127.0.0.1:{port}{path}")


async def test_healthz_reports_each_part_and_fails_when_one_is_down(store: Store) -> None:
    """/healthz answers 200 with every check passing, and 503 naming the part that is down."""
    connected = {"telegram": True}
    port = free_port()
    runner = await start_health_server(
        Health(store, None, {"telegram": lambda: connected["telegram"]}), "127.0.0.1", port
    )
    try:
        ok = await _get(port, "/healthz")
        assert ok.status_code == 200 and ok.json() == {"redis": True, "adapter:telegram": True}
        connected["telegram"] = False
        down = await _get(port, "/healthz")
        assert down.status_code == 503 and down.json()["adapter:telegram"] is False
    finally:
        await runner.cleanup()


async def test_healthz_fails_without_redis() -> None:
    """/healthz is 503 when Redis cannot be reached."""
    dead = Store.from_url(f"redis://127.0.0.1:{free_port()}/0")
    port = free_port()
    runner = await start_health_server(Health(dead), "127.0.0.1", port)
    try:
        response = await _get(port, "/healthz")
        assert response.status_code == 503 and response.json()["redis"] is False
    finally:
        await runner.cleanup()
        await dead.close()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of a Prometheus text exposition, by metric name and labels."""
    families = text_string_to_metric_families(text)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in families for s in family.samples}


async def _metrics(health: Health) -> httpx.Response:
    """GET /metrics of a health server started for the call."""
    port = free_port()
    runner = await start_health_server(health, "127.0.0.1", port)
    try:
        return await _get(port, "/metrics")
    finally:
        await runner.cleanup()


async def test_metrics_expose_the_shared_counters(store: Store) -> None:
    """/metrics lists subscribers, digests sent, failures, LLM use, fetch time and queue depth for Prometheus."""
    await store.save_subscriber(Subscriber(ChatRef("telegram", "1")))
    stats = store.stats
    health = Health(store)
    await stats.record_sent(health.clock().date())
    await stats.record_failure("gone")
    await stats.record_llm("2024-03", 3, 450)
    await store.delivery.enqueue(ChatRef("telegram", "1"), "2024-03-25", 0)
    response = await _metrics(health)
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    assert (
        samples.items()
        >= {
            ("arxiv_digest_subscribers", (("platform", "telegram"),)): 1,
            ("arxiv_digest_digests_sent_total", ()): 1,
            ("arxiv_digest_send_failures_total", (("reason", "gone"),)): 1,
            ("arxiv_digest_llm_calls_total", ()): 3,
            ("arxiv_digest_llm_tokens_total", ()): 450,
            ("arxiv_digest_queue_depth", ()): 1,
        }.items()
    )
    assert "# TYPE arxiv_digest_digests_sent_total counter" in response.text.splitlines()


async def test_metrics_show_every_counter_before_anything_happened(store: Store) -> None:
    """On a fresh Redis every metric is there with the value 0, so Prometheus sees no gaps."""
    samples = _samples((await _metrics(Health(store))).text)
    assert samples == {
        (f"arxiv_digest_{name}", ()): 0
        for name in (
            "subscribers",
            "digests_sent_total",
            "send_failures_total",
            "llm_calls_total",
            "llm_tokens_total",
            "arxiv_fetch_seconds",
            "queue_depth",
        )
    }
