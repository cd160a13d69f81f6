"""The growth fit's re-optimizations are bounded: all the ladder's sizes together do at most
``GROWTH_WORK_BOUND`` budgets of work, and a size cut at that bound is left out of the fit."""

from __future__ import annotations

import pytest
from aalp.checks.loader import load_text
from aalp.explainer import growth
from aalp.explainer.growth import GROWTH_WORK_BOUND, growth_series, ladder, resized
from aalp.optimizer import work
from aalp.optimizer.driver import optimize
from aalp.optimizer.work import CHECK_EVERY, SearchCut

# A map then a merge tree whose fan-in is chosen: the work of a size grows with the size.
SPEC = """\
param n = 100
model a { size 1 context 1M price in 0.15 out 0.60 per Mtok can s, merge }
model b { size 4 context 1M price in 2 out 8 per Mtok can s, merge }
task t {
  items d = n of 1 tokens
  op s(x of d upto 20) on a, b {
    reads 50 + 5*x tokens writes 5 tokens success 0.999^x prompt "Do it." answer number
  }
  op merge(x of d) on a, b {
    reads 50 + x tokens writes 5 tokens success 0.9999^x prompt "Merge." answer number
  }
  map s over d
  reduce merge fanin choose
  allow vote ahead_by max 5
  allow retry max 3 until exact
  require success >= 0.9
  baseline small_model { s.model = a  merge.model = a  s.vote = none  merge.vote = none }
  minimize cost
}
"""


@pytest.fixture(scope="module")
def checked():
    return load_text(SPEC, "<growth>")


def _spent(monkeypatch) -> list[int]:
    """Every unit of work any search does from now on, summed in the returned list."""
    total = [0]
    spend = work.Work.spend

    def counted(self, k=1):
        total[0] += k
        spend(self, k)

    monkeypatch.setattr(work.Work, "spend", counted)
    return total


def test_a_size_past_the_bound_is_cut_and_left_out(checked, monkeypatch):
    result = optimize(checked, frontier=False, baselines=False)
    task = checked.spec.tasks[0]
    first = ladder(100.0)[0]
    alone = optimize(resized(checked, "d", first, task), frontier=False).evaluations
    budget = 100
    assert alone > GROWTH_WORK_BOUND * budget + 2 * CHECK_EVERY  # the bound must bite here
    total = _spent(monkeypatch)
    plan, _bases = growth_series(checked, result, budget=budget)
    assert plan is None  # no size finished within the bound: no fit
    assert total[0] <= GROWTH_WORK_BOUND * budget + CHECK_EVERY


def test_the_fit_within_its_budgets_is_unchanged(checked, monkeypatch):
    # Unbounded, the ladder runs the same sizes as under the default bound on this spec.
    result = optimize(checked)
    bounded = growth_series(checked, result)
    monkeypatch.setattr(growth, "GROWTH_WORK_BOUND", 10**9)
    assert growth_series(checked, result) == bounded
    assert bounded[0] is not None


def test_a_ceiling_cuts_a_search_and_says_it_is_not_proven(checked):
    full = optimize(checked, frontier=False, baselines=False)
    cut = optimize(checked, frontier=False, baselines=False, max_work=full.evaluations // 4)
    assert full.proven and not cut.proven
    assert any("time or work limit" in n for n in cut.notes), cut.notes
    assert cut.evaluations <= full.evaluations // 4 + CHECK_EVERY
    with_baselines = optimize(checked, frontier=False)
    assert with_baselines.baselines and with_baselines.proven
    try:  # the main search fits; its baselines' searches do not
        late = optimize(checked, frontier=False, max_work=full.evaluations + 1)
    except SearchCut:  # a cut outside any search is raised
        return
    assert not late.proven
