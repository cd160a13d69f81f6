"""The decision space read from a spec, and the candidate values of integer decisions."""

from __future__ import annotations

import math

from aalp.checks.loader import load_text
from aalp.optimizer import candidates as cand
from aalp.plan.space import build

SPEC = """\
param n = 1000
model small { size 1 context 8k price in 1 out 1 per Mtok can solve if routed  can label }
model big { size 8 context 100k price in 8 out 8 per Mtok can solve }
model tiny { size 1 context 1k price in 1 out 1 per Mtok can label }
task t {
  items docs = n of 10 tokens
  op label on tiny { reads 20 tokens  writes 1 tokens  success 0.99 }
  op solve(x of docs upto 64) on small, big { reads 10*x tokens  writes 5 tokens  success 0.99 }
  map solve over docs
  {route}
  allow vote ahead_by max 5 on solve
  allow vote majority max 7
  allow retry max 3 until exact on solve
  pin solve.vote = ahead_by
  baseline one { solve.model = big  solve.x = n/20 }
}
"""


def space():
    return build(load_text(SPEC.replace("{route}", "route solve by label"), "t.aalp"))


def test_models_boosters_and_granularity():
    sp = space()
    solve = sp.op("solve")
    assert solve.models == ("small", "big")  # small only behind the route stage
    assert solve.x.lo == 1 and solve.x.hi == 64  # upto bounds the data's 1000 units
    kinds = {b.kind: b.values() for b in solve.boosters}
    assert kinds["none"] == (0,)
    assert kinds["ahead_by"] == (1, 2, 3, 4, 5)
    assert kinds["majority"] == (3, 5, 7)
    assert kinds["retry"] == (1, 2, 3)
    label = sp.op("label")
    assert label.models == ("tiny",) and label.x is None
    assert {b.kind for b in label.boosters} == {"none", "majority"}
    # the classifier runs beside the op it routes: one block
    assert [set(b.ops) for b in sp.blocks] == [{"label", "solve"}]
    assert sp.pins == {"solve.vote": "ahead_by"}
    assert sp.baselines == (("one", {"solve.model": "big", "solve.x": 50}),)


def test_snap_is_the_smallest_x_with_the_same_chunk_count():
    for n in (1, 7, 100, 1001):
        for x in range(1, n + 1):
            same = [y for y in range(1, n + 1) if math.ceil(n / y) == math.ceil(n / x)]
            assert cand.snap(x, n) == min(same)


def test_candidates_are_bounded_for_astronomical_ranges():
    n = 2**64 - 1
    vals = cand.initial(1, n, n)
    assert vals[0] == 1 and vals[-1] == n and len(vals) < 200
    assert vals == sorted(set(vals))
    # refining around a value adds points strictly between its neighbours
    i = len(vals) // 2
    new = cand.around(vals, vals[i], 1, n)
    assert new and all(vals[i - 1] < v < vals[i + 1] for v in new)
    assert cand.around([1, 2, 3], 2, 1, 3) == []
