"""Helpers shared by the benchmarks: result rows, timing, percentiles, table printing, machine facts, Redis."""

from __future__ import annotations

import gc
import math
import os
import platform
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.config import Settings, settings_from_mapping
from bot.redis_server import RedisServer, find_redis_server, start_redis_server
from bot.store import Store

T = TypeVar("T")
# The redis-server versions the benchmarks ran against since last asked (memory figures differ between 6.2 and
# 7.x): noted by open_store from the live server, printed by `python -m bench` under each benchmark's table.
_SERVERS_SEEN: set[str] = set()


class Server(Protocol):
    """A Redis the benchmark started: one redis-server, or a Redis Cluster (tests/redis_cluster.py)."""

    @property
    def url(self) -> str:
        """The URL a Store connects with."""
        ...


@dataclass(frozen=True)
class Row:
    """One measured result: which benchmark and case, what was measured, the value, and its target if any."""

    bench: str
    case: str
    metric: str
    value: str
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def verdict(self) -> str:
        """`met`, `MISSED`, or empty when the row has no target."""
        if self.ok is None:
            return ""
        return "met" if self.ok else "MISSED"


@dataclass
class Stopwatch:
    """The wall and CPU seconds of a `with timed() as watch:` block (filled in when the block ends)."""

    wall: float = 0.0
    cpu: float = 0.0


@contextmanager
def timed(collect_garbage: bool = True) -> Iterator[Stopwatch]:
    """Time a block in wall and process CPU seconds, with a garbage collection before it (not inside it)."""
    if collect_garbage:
        gc.collect()
    watch = Stopwatch()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        yield watch
    finally:
        watch.wall = time.perf_counter() - wall0
        watch.cpu = time.process_time() - cpu0


def best_of(repeat: int, action: Callable[[], T]) -> tuple[float, T]:
    """The shortest wall time of `repeat` runs of `action`, with the last run's result."""
    best = math.inf
    result: T | None = None
    for _ in range(max(1, repeat)):
        with timed() as watch:
            result = action()
        best = min(best, watch.wall)
    assert result is not None
    return best, result


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) of the values, by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def fmt_seconds(seconds: float) -> str:
    """A duration in the unit that reads best (`850 µs`, `12.3 ms`, `4.56 s`)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    if seconds < 100:
        return f"{seconds:.2f} s"
    if seconds < 3 * 3600:
        return f"{seconds:,.0f} s ({seconds / 60:.0f} min)"
    return f"{seconds:,.0f} s ({seconds / 3600:.1f} h)"


def fmt_count(n: int) -> str:
    """A count with an M or k suffix when round (`1M`, `100k`), else with thousands separators."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else f"{n:,}"


def render_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (readable as plain text too)."""
    header = ("benchmark", "case", "metric", "value", "target", "verdict", "note")
    cells = [header] + [(r.bench, r.case, r.metric, r.value, r.target, r.verdict, r.note) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        """One table line with padded cells."""
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(header), rule, *(line(values) for values in cells[1:])])


def _first_line(path: str, prefix: str) -> str:
    """The value of the first `prefix: value` line of a /proc file, or `?`."""
    try:
        with open(path, encoding="utf-8") as handle:
            for text in handle:
                if text.startswith(prefix):
                    return text.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def redis_server_version() -> str:
    """The version line of the redis-server the benchmarks start."""
    try:
        out = subprocess.run([find_redis_server(), "--version"], capture_output=True, text=True, check=False)
    except Exception as exc:  # a missing binary is reported, not fatal here
        return f"unknown ({exc})"
    return out.stdout.strip() or out.stderr.strip()


def machine_facts() -> list[tuple[str, str]]:
    """What the benchmarks ran on: cores, CPU model, memory, load, Python, redis-server, OS."""
    return [
        ("nproc", str(os.cpu_count())),
        ("CPU", _first_line("/proc/cpuinfo", "model name")),
        ("memory", _first_line("/proc/meminfo", "MemTotal")),
        ("load average at start", " ".join(f"{x:.2f}" for x in os.getloadavg())),
        ("Python", platform.python_version() + " (" + platform.python_implementation() + ")"),
        ("redis-server", redis_server_version()),
        ("OS", platform.platform()),
        ("redis-server path", shutil.which("redis-server") or find_redis_server()),
    ]


def quiet_heap() -> None:
    """Collect garbage, then freeze what survives so later collections do not stall the event loop scanning it.

    The fake servers run in the benchmark's own event loop: a long collection there would hold back the
    requests already sent and then timestamp them all at once, as no real server would.
    """
    gc.collect()
    gc.freeze()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A fresh real redis-server on a free loopback port, stopped afterwards."""
    server = start_redis_server()
    try:
        yield server
    finally:
        server.stop()


def servers_seen() -> str:
    """The redis-server versions (and binaries) benchmarks ran against since the last call, then forget them."""
    seen = ", ".join(sorted(_SERVERS_SEEN))
    _SERVERS_SEEN.clear()
    return seen


@asynccontextmanager
async def open_store(server: Server) -> AsyncIterator[Store]:
    """A Store on the server, emptied first and closed afterwards; notes the server's version."""
    store = Store.from_url(server.url)
    await store.redis_for_tests.flushdb()
    info = await store.redis_for_tests.info("server")
    _SERVERS_SEEN.add(f"{info.get('redis_version', '?')} ({info.get('executable', '?')})")
    try:
        yield store
    finally:
        await store.close()


def fake_service_settings(
    arxiv_rss_url: str, arxiv_api_url: str, llm_url: str, arxiv_min_interval: float = 0.0
) -> Settings:
    """Settings pointing the service at the benchmark's fake arXiv and fake LLM (no arXiv spacing by default)."""
    return settings_from_mapping(
        {
            "ARXIV_RSS_URL": arxiv_rss_url,
            "ARXIV_API_URL": arxiv_api_url,
            "ARXIV_MIN_INTERVAL": str(arxiv_min_interval),
            "LLM_BASE_URL": llm_url,
            "LLM_API_KEY": "sk-bench",
            "LLM_MODEL": "bench-model",
        }
    )
