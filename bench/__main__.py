"""Run the benchmarks and print their tables: `python -m bench [--quick] [--only NAME ...] [--verbose]`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from bench import (
    daily_job,
    delivery,
    delivery_cluster,
    delivery_workers,
    flood,
    matching,
    paper_during_match,
    paper_latency,
    paper_load,
    queueing,
    ranking,
    storage,
    translation,
    webhook,
)
from bench.common import Row, machine_facts, quiet_heap, render_table, servers_seen
from bench.synthetic import forget

BENCHMARKS: dict[str, Callable[[bool], list[Row]]] = {
    "matching": matching.run,
    "storage": storage.run,
    "translation": translation.run,
    "delivery": delivery.run,
    "delivery_workers": delivery_workers.run,
    "delivery_workers_paid": delivery_workers.run_paid,
    "delivery_cluster": delivery_cluster.run,
    "paper": paper_latency.run,
    "paper-load": paper_load.run,
    "flood": flood.run,
    "paper_during_match": paper_during_match.run,
    "ranking": ranking.run,
    "webhook": webhook.run,
    "queueing": queueing.run,
    "daily_job": daily_job.run,
}
OPT_IN = frozenset({"delivery_cluster"})  # only with --only: it starts a cluster and repeats delivery_workers' case
TIMING_SENSITIVE = frozenset(
    {
        "delivery",
        "delivery_workers",
        "delivery_workers_paid",
        "delivery_cluster",
        "flood",
        "paper",
        "paper-load",
        "paper_during_match",
        "webhook",
    }
)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about 3 minutes instead of about 12)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--verbose", action="store_true", help="show the bot's warnings (429s, retries) as they happen")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks in order, print each table as it completes, then every row with a target."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    if not args.verbose:
        for handler in logging.getLogger().handlers:
            handler.setLevel(logging.CRITICAL)
    names = args.only or [name for name in BENCHMARKS if name not in OPT_IN]
    command = "python -m bench" + (" --quick" if args.quick else "")
    command += f" --only {' '.join(names)}" if args.only else ""
    print(f"# arxiv-digest benchmarks — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"\ncommand: `{command}`\n")
    for key, value in machine_facts():
        print(f"- {key}: {value}")
    all_rows: list[Row] = []
    started = time.perf_counter()
    for name in names:
        if name in TIMING_SENSITIVE:
            forget()
            quiet_heap()
        began = time.perf_counter()
        rows = BENCHMARKS[name](args.quick)
        all_rows += rows
        print(f"\n## {name} ({time.perf_counter() - began:.0f} s)\n")
        print(render_table(rows))
        print(f"\nredis-server: {servers_seen() or 'none started'}", flush=True)
    targeted = [r for r in all_rows if r.ok is not None and r.target]
    print(f"\n## targets ({time.perf_counter() - started:.0f} s in all)\n")
    print(render_table(targeted))
    missed = [r for r in targeted if not r.ok]
    print(f"\n{len(targeted) - len(missed)} of {len(targeted)} targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
