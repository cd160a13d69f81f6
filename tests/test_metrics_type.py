"""``Metrics``: its sum and its values are field by field, in the order of ``METRIC_FIELDS``
(the optimizer's points index metrics by that order)."""

from __future__ import annotations

import dataclasses

from aalp.model.metrics import METRIC_FIELDS, Metrics


def test_fields_sum_and_values_follow_the_metric_order():
    assert tuple(f.name for f in dataclasses.fields(Metrics)) == METRIC_FIELDS
    a = Metrics(*(float(i) for i in range(1, 8)))
    b = Metrics(*(float(10 * i) for i in range(1, 8)))
    assert a.values() == tuple(getattr(a, k) for k in METRIC_FIELDS)
    assert (a + b).values() == tuple(x + y for x, y in zip(a.values(), b.values(), strict=True))
    assert Metrics().values() == (0.0,) * len(METRIC_FIELDS)
