"""The combines a spec may name are exactly those the emitted runtime has code for, and
``aalp check`` rejects any other by name (E117) rather than leaving it to ``compile``."""

from __future__ import annotations

import re
from pathlib import Path

from aalp.checks.loader import load_text
from aalp.diagnostics import AalpError, render_all
from aalp.front.ir import COMBINES

RUNTIME = Path(__file__).parent.parent / "backends" / "templates" / "_runtime_core.py.j2"

SPEC = """model m {{ size 1  context 8k  price in 1 out 2 per Mtok  can count }}
task t {{
  items xs = 100 of 50 tokens
  op count(x of xs) on m {{ reads 50*x tokens  writes 5 tokens  success 0.99 }}
  map count over xs
  combine {how}
  minimize cost
}}
"""


def test_the_runtime_has_code_for_every_combine_and_no_other():
    text = RUNTIME.read_text(encoding="utf-8")
    block = text[text.index("COMBINES: dict") : text.index("\n}\n", text.index("COMBINES: dict"))]
    assert tuple(re.findall(r'^    "(\w+)":', block, re.M)) == COMBINES


def test_every_known_combine_checks_and_an_unknown_one_is_named():
    for how in COMBINES:
        load_text(SPEC.format(how=how), "<spec>")
    try:
        load_text(SPEC.format(how="summ"), "<spec>")
    except AalpError as err:
        text = render_all(err.diagnostics, SPEC.format(how="summ"))
    else:
        raise AssertionError("an unknown combine passed the checks")
    assert "E117" in text and "unknown combine 'summ'" in text and "did you mean 'sum'" in text
