"""Every sample checks cleanly, and survives any ``-D`` of any of its parameters: the result is a
checked spec or a ``SpecError`` with positioned diagnostics, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from aalp.checks.loader import load
from aalp.diagnostics import SpecError
from aalp.front.parser import parse

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.aalp"))
VALUES = ["0", "1", "0.5", "-1", "1e6", "2^64", "1e300", "3/7", "1e-12"]


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_sample_checks_without_errors(path: Path) -> None:
    checked = load(path)
    assert checked.spec.tasks
    # every parameter and data name has a value, and the values are numbers
    names = {p.name for p in checked.spec.params} | {
        d.name for t in checked.spec.tasks for d in t.data
    }
    assert set(checked.env) == names
    assert all(v == v for v in checked.env.values())  # no NaN


@pytest.mark.parametrize("path", SAMPLES, ids=[p.stem for p in SAMPLES])
def test_any_override_of_any_parameter_is_handled(path: Path) -> None:
    spec = parse(path.read_text(encoding="utf-8"), str(path))
    lines = path.read_text(encoding="utf-8").split("\n")
    for param in spec.params:
        for value in VALUES:
            try:
                checked = load(path, {param.name: value})
            except SpecError as err:
                diagnostics = err.diagnostics
                assert any(d.severity == "error" for d in diagnostics)
            else:
                diagnostics = checked.diagnostics
            for d in diagnostics:
                assert 1 <= d.line <= len(lines), (param.name, value, d)
