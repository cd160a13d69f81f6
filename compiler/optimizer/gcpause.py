"""The cyclic garbage collector paused while the optimizer runs.

A search makes millions of short-lived tuples (points, sums, keys) that reference counting
frees; none forms a cycle, yet every few hundred allocations the collector scans the young
ones, and now and then the whole heap: a fifth to a third of a structural search's time,
finding nothing. ``paused()`` turns the collector off for the search and back on after, only
if it was on: entries nest and may overlap across threads (a counter under a lock: the last
to leave restores the collector), and what a search leaves in cycles is collected then.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_inside = 0  # searches running now
_was_enabled = False  # the collector's state when the first of them started


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (if it was on when the first block started)."""
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()
