"""A long-running process keeps freed memory for reuse instead of faulting it in again for every batch's arrays."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A heap used for a while (as a worker's is), then arrays of a batch's size allocated and freed 300 times.
BATCHES = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from bot.allocator import keep_freed_memory
    print(keep_freed_memory())
used = [np.ones(3000) for _ in range(20000)]
del used[::2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(300):
    scores = np.ones(60_000)
    doubled = scores * 2
    del scores, doubled
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str, **env: str) -> list[str]:
    """What the batch loop prints in a fresh interpreter: whether memory is kept (when asked), then its page faults."""
    done = subprocess.run(
        [sys.executable, "-c", BATCHES, mode],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        timeout=60,
    )
    return done.stdout.split()


def test_kept_memory_spares_each_batch_its_page_faults() -> None:
    """With freed memory kept, a batch's arrays reuse the heap: a small fraction of the page faults without it."""
    [plain] = _page_faults("plain")
    kept, faults = _page_faults("keep")
    assert kept == "True"
    assert int(faults) * 10 < int(plain), (faults, plain)


def test_the_operators_own_malloc_settings_win() -> None:
    """An operator who set glibc's MALLOC_TRIM_THRESHOLD_ keeps it: the bot changes nothing."""
    kept, _ = _page_faults("keep", MALLOC_TRIM_THRESHOLD_="131072")
    assert kept == "False"
