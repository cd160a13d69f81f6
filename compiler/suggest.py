""" "Did you mean" suggestions for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``name``, or None if nothing is close enough.

    >>> closest("gpt4mini", ["gpt41mini", "big"])
    'gpt41mini'
    >>> closest("zzz", ["gpt41mini"]) is None
    True
    """
    pool = sorted(set(candidates))
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:  # a case slip is always the intended name
        return lowered[name.lower()]
    found = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: str, candidates: Iterable[str], kind: str = "") -> str:
    """A hint for an unknown ``name``: the closest candidate, else the list of known ones.

    >>> did_you_mean("dsks", ["disks", "p"])
    "did you mean 'disks'?"
    >>> did_you_mean("q", [], "parameter")
    'no parameter is declared'
    """
    pool = sorted(set(candidates))
    best = closest(name, pool)
    if best is not None:
        return f"did you mean '{best}'?"
    if not pool:
        return f"no {kind or 'name'} is declared"
    shown = ", ".join(f"'{c}'" for c in pool[:8])
    more = ", ..." if len(pool) > 8 else ""
    return f"known {kind + 's' if kind else 'names'}: {shown}{more}"
