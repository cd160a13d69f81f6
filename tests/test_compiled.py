"""Formulas compiled to closures (``aalp.front.compiled``) give exactly what the tree walk
(``aalp.front.expr.evaluate``) gives, value for value and error for error."""

from __future__ import annotations

import math

from aalp.front import expr as ex
from aalp.front.compiled import evaluate_at
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import big


def _walk(expr, env):
    try:
        return ("value", ex.evaluate(expr, env))
    except ex.EvalError as err:
        return ("error", str(err))


def _fast(expr, env, x):
    try:
        return ("value", evaluate_at(expr, env, x))
    except ex.EvalError as err:
        return ("error", str(err))


def _same(a, b) -> bool:
    if a[0] == "value" and b[0] == "value" and math.isnan(a[1]) and math.isnan(b[1]):
        return True
    return a == b


values = st.one_of(
    st.floats(allow_nan=False, width=64), st.integers(-5, 5).map(float), st.just(0.0)
)


@settings(max_examples=400, deadline=None)
@given(big, st.data())
def test_compiled_formulas_equal_the_tree_walk(expr, data):
    names = sorted({n.id for n in ex.names(expr)})
    env = {n: data.draw(values) for n in names if data.draw(st.integers(0, 9)) > 0}
    x = data.draw(st.none() | values)
    full = env if x is None else {**env, "x": x}
    assert _same(_fast(expr, env, x), _walk(expr, full))
    assert _same(_fast(expr, env, x), _walk(expr, full))  # and again, from the cache
