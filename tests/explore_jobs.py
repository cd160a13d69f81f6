"""Stand-ins for the explorer's API functions, for tests that need a slow or broken one.

The explorer runs its optimizations in worker processes and sends them the function to call
by name, so a test replaces ``aalp.explore.api.optimize_spec`` (or another) with one of these:
module-level functions that a worker can import. This module imports nothing but aalp, so a
worker that imports it does not run the tests' own setup.
"""

from __future__ import annotations

import time
from typing import Any

from aalp.explore import api

HANG = 60.0  # seconds: far longer than any test waits, so only stopping the worker ends it
START = "20"  # the hanoi sample's own disks

real_optimize = api.optimize_spec
real_sweep = api.sweep_spec


def _hangs(settings: Any) -> bool:
    return settings.params.get("disks", START) != START


def optimize_hangs_unless_at_start(text: str, file: str, settings: Any) -> dict:
    """The real optimizer at the sample's own size; at any other ``disks`` it never answers."""
    if _hangs(settings):
        time.sleep(HANG)
    return real_optimize(text, file, settings)


def sweep_hangs_unless_at_start(text: str, file: str, settings: Any) -> dict:
    """The real growth sweep at the sample's own size; at any other ``disks`` it never answers."""
    if _hangs(settings):
        time.sleep(HANG)
    return real_sweep(text, file, settings)


def broken(*args: object) -> dict:
    """A bug in aalp."""
    raise ZeroDivisionError("a bug")
