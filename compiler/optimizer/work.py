"""The work a search has done, and the limits that cut it short.

Every exact evaluation and every bound counts (``spend``). A solve sets a hard cap above its
budget and the solver's deadline; past either, ``spend`` raises ``SearchCut`` wherever the
search is (inside one round of a large shape as well as between rounds), so no spec can hold
a search longer than its limits. The solve that catches it reports the best plan it had proven
feasible before the round that was cut, as not proven optimal.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

CHECK_EVERY = 256  # decisions between two looks at the clock


class SearchCut(Exception):
    """A search's hard cap or deadline passed in the middle of a round."""


class Work:
    def __init__(self) -> None:
        self.n = 0
        self.cap: int | None = None
        self.deadline: float | None = None
        self.ceiling: int | None = None  # the whole optimization's limit, over every block
        self._next = CHECK_EVERY

    @contextmanager
    def limits(self, cap: int | None, deadline: float | None) -> Iterator[None]:
        """``cap`` and ``deadline`` in force for the block (lifted after it, cut or not)."""
        self.cap, self.deadline = cap, deadline
        try:
            yield
        finally:
            self.cap = self.deadline = None

    def spend(self, k: int = 1) -> None:
        self.n += k
        if self.n < self._next:
            return
        self._next = self.n + CHECK_EVERY
        if self.cap is not None and self.n > self.cap:
            raise SearchCut("budget")
        if self.ceiling is not None and self.n > self.ceiling:
            raise SearchCut("ceiling")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SearchCut("deadline")
