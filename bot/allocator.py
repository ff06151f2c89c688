"""Keep freed memory in a long-running process for reuse, rather than handing it back to the OS after every array.

glibc's malloc gives each allocation above its mmap threshold (128 KiB at first) pages of its own and returns
them when freed, and trims the heap's free top back to the OS. A delivery worker allocates and frees arrays of a
few hundred KiB for every batch of chats it ranks, so each batch faulted its memory in again: about a third of
the ranking's CPU time in a worker that had run a while (bench/ranking.py).
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 << 20  # allocations up to this come from the heap and are reused there
TRIM_THRESHOLD = 32 << 20  # the heap keeps up to this much free memory at its top
OPERATOR_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def keep_freed_memory() -> bool:
    """Ask malloc to keep freed memory for reuse (glibc only); False when not glibc or the operator set malloc's own.

    The cost is bounded: at most TRIM_THRESHOLD of freed memory stays with the process.
    """
    if any(name in os.environ for name in OPERATOR_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or one without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    kept = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    if kept:
        log.debug("malloc keeps freed memory for reuse (up to %d MiB)", TRIM_THRESHOLD >> 20)
    return kept
