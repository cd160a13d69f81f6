"""The explorer never misleads, in a real browser (Playwright driving Debian's chromium): axis
labels are distinct and do not crowd, the tree shows every count whole at 64 disks, an
infeasible growth series looks infeasible, the header follows a pasted spec, "go to" shows its
line, a bad pin is reported at its field, the disks slider moves a disk per key press, a
frontier plan's ratios are its own; and a keyboard-only walk and an accessibility check of the
page's controls (labels, focus order, contrast).

Skipped like tests/test_explore_browser.py when chromium or Playwright is absent.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import test_explore_browser as base
from conftest import SAMPLES

MISSING = base.MISSING
_wait_for_plan = base._wait_for_plan
# the fixtures of the explorer's other browser tests: the same server, browser and page
spec_file, server, browser, page = base.spec_file, base.server, base.browser, base.page

pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

LABELS = """(id) => {
  const chart = Chart.getChart(id);
  return Object.fromEntries(Object.entries(chart.scales).map(([axis, scale]) =>
    [axis, scale.ticks.map((t) => t.label).filter((l) => l !== null && l !== undefined && l !== "")
      .map(String)]));
}"""


def _labels(page, chart: str) -> dict[str, list[str]]:
    return page.evaluate(LABELS, chart)


BOXES = """([id, axis]) => {
  const s = Chart.getChart(id).scales[axis];
  const horizontal = s.isHorizontal();
  const size = s.options.ticks.font?.size || Chart.defaults.font.size;
  return s._labelItems.map((item) => {
    const [x, y] = item.options.translation;
    const half = horizontal ? s.ctx.measureText(String(item.label)).width / 2 : size / 2;
    return horizontal ? [x - half, x + half] : [y - half, y + half];
  });
}"""


def _overlapping(page, chart: str, axis: str) -> list[tuple[float, float]]:
    """The drawn labels of an axis whose boxes overlap their neighbour's."""
    boxes = sorted(page.evaluate(BOXES, [chart, axis]))
    return [(a, b) for a, b in itertools.pairwise(boxes) if a[1] > b[0]]


def _set_disks(page, disks: int) -> None:
    slider = page.locator("#param-disks")
    slider.focus()
    before = page.inner_text("#plan-summary")
    page.keyboard.press("Home")
    for _ in range(disks - 1):
        page.keyboard.press("ArrowRight")
    assert page.get_attribute("#param-disks", "aria-valuetext") == str(disks)
    page.wait_for_function(
        "old => document.querySelector('#plan-summary').innerText !== old", arg=before
    )
    # the summary may first show a plan for a value the slider passed on its way
    page.wait_for_selector('#plan-panel[aria-busy="false"]', state="attached")
    _wait_for_plan(page)


def _growth(page) -> None:
    page.wait_for_function("document.querySelectorAll('#growth li').length >= 3")


def test_axis_labels_are_distinct_and_few(page):
    _growth(page)
    for chart in ("frontier-success", "frontier-latency", "sweep"):
        for axis, labels in _labels(page, chart).items():
            assert len(labels) == len(set(labels)), (chart, axis, labels)
            assert len(labels) <= 12, (chart, axis, labels)
    _set_disks(page, 64)
    page.wait_for_function(
        "() => Chart.getChart('sweep') && Chart.getChart('sweep').scales.x.max > 1e18"
    )
    for chart in ("frontier-success", "frontier-latency", "sweep"):
        for axis, labels in _labels(page, chart).items():
            assert len(labels) == len(set(labels)), (chart, axis, labels)
            assert len(labels) <= 12, (chart, axis, labels)
    # the labels Chart.js draws do not overlap one another
    for chart in ("frontier-success", "frontier-latency", "sweep"):
        for axis in ("x", "y"):
            assert not _overlapping(page, chart, axis), (chart, axis)


def _objective(page, metric: str) -> None:
    before = page.inner_text("#plan-summary")
    page.select_option("#objective", metric)
    page.wait_for_function(
        "old => document.querySelector('#plan-summary').innerText !== old", arg=before
    )
    # the summary may first show a plan for a value the slider passed on its way
    page.wait_for_selector('#plan-panel[aria-busy="false"]', state="attached")
    _wait_for_plan(page)


def test_a_latency_axis_spanning_less_than_a_decade_has_distinct_labels(page):
    # minimizing latency, the frontier's latencies lie within a decade (5.8e8 to 5.9e8): a
    # label of two digits each read "5.8e+8" five times
    _objective(page, "minimize latency")
    page.wait_for_function(
        "() => Chart.getChart('frontier-latency').data.datasets[0].data.length > 1"
    )
    ys = page.evaluate(
        "() => Chart.getChart('frontier-latency').data.datasets[0].data.map((p) => p.y)"
    )
    assert max(ys) / min(ys) < 10, ys
    for axis, labels in _labels(page, "frontier-latency").items():
        assert len(labels) >= 2 and len(labels) == len(set(labels)), (axis, labels)
        assert not _overlapping(page, "frontier-latency", axis), (axis, labels)


def test_the_chart_captions_name_the_objective(page):
    _growth(page)
    captions = {
        c: page.inner_text(f"#{c}-caption") for c in ("frontier-success", "frontier-latency")
    }
    assert captions["frontier-success"].startswith("Pareto frontier: dollars vs success")
    assert captions["frontier-latency"] == "Pareto frontier: dollars vs latency"
    assert page.inner_text("#sweep-caption").startswith("dollars against the task's size")
    _objective(page, "minimize cost")
    assert page.inner_text("#frontier-latency-caption") == "Pareto frontier: cost vs latency"
    page.wait_for_function("() => document.querySelector('#sweep-metric').textContent === 'cost'")


def test_tree_labels_are_whole_at_64_disks(page):
    _set_disks(page, 64)
    texts = page.eval_on_selector_all(
        "#tree svg g.node",
        """nodes => nodes.map((g) => {
          const rect = g.querySelector('rect');
          return [...g.querySelectorAll('text')].map((t) =>
            [t.textContent, t.getComputedTextLength(), Number(rect.getAttribute('width'))]);
        }).flat()""",
    )
    assert not any("…" in text for text, _, _ in texts)
    assert all(length + 8 <= width for _, length, width in texts), texts
    joined = " ".join(text for text, _, _ in texts)
    assert "18,446,744,073,709,551,615" in joined  # 2^64 - 1 steps, every digit
    label = page.get_attribute("#tree g.node >> nth=2", "aria-label")
    assert label and "18,446,744,073,709,551,615" in label


def test_an_infeasible_growth_series_looks_infeasible(page):
    _growth(page)
    sets = page.evaluate(
        """() => Chart.getChart('sweep').data.datasets.map((d) =>
          ({label: d.label, fill: d.backgroundColor, dash: d.borderDash, ok: d.feasible}))"""
    )
    optimum, *baselines = sets
    assert optimum["ok"] and "infeasible" not in optimum["label"] and optimum["dash"] == []
    bad = [s for s in baselines if not s["ok"]]
    assert bad, sets  # one_step_no_vote misses the target: success ≈ 0
    for s in bad:
        assert "infeasible" in s["label"] and s["fill"] == "#ffffff" and s["dash"] == [2, 3]
    items = page.eval_on_selector_all(
        "#growth li.infeasible-series", "items => items.map(i => i.textContent)"
    )
    assert any("one_step_no_vote" in i and "infeasible" in i for i in items), items


def test_the_header_and_save_follow_a_pasted_spec(page, spec_file: Path):
    name = page.inner_text("#doc-name")
    assert name == str(spec_file) and not page.is_disabled("#save-spec")
    editor = page.locator("#spec")
    original = editor.input_value()
    editor.fill(original + "\n")
    page.wait_for_function(
        "() => document.querySelector('#doc-name').textContent.includes('edited')"
    )
    editor.fill((SAMPLES / "counting.aalp").read_text(encoding="utf-8"))
    page.wait_for_function(
        "() => document.querySelector('#doc-name').textContent.includes('pasted spec')"
    )
    header = page.inner_text("#doc-name")
    assert "counting" in header and f"not {spec_file}" in header
    assert page.is_disabled("#save-spec")
    assert "download it instead" in page.get_attribute("#save-spec", "title")
    with page.expect_download() as info:
        page.click("#download-spec")
    assert info.value.suggested_filename == "counting.aalp"
    editor.fill(original)
    page.wait_for_function(
        "name => document.querySelector('#doc-name').textContent === name", arg=name
    )
    assert not page.is_disabled("#save-spec")


def test_go_to_brings_the_line_into_view(page):
    editor = page.locator("#spec")
    good = editor.input_value()
    lines = good.splitlines()
    target = max(i for i, line in enumerate(lines) if line.strip().startswith("baseline"))
    lines[target] = lines[target].replace("baseline", "baselin", 1)
    editor.fill("\n".join(lines) + "\n")
    page.wait_for_selector("#diagnostics li.error button")
    page.evaluate("() => { document.querySelector('#spec').scrollTop = 0; }")
    page.click("#diagnostics li.error button")
    top, height, line_px = page.evaluate(
        """() => { const e = document.querySelector('#spec');
          return [e.scrollTop, e.clientHeight, parseFloat(getComputedStyle(e).lineHeight)]; }"""
    )
    y = target * line_px
    assert top <= y and y + line_px <= top + height, (top, height, y)
    assert page.evaluate("() => document.activeElement.id") == "spec"
    editor.fill(good)
    page.wait_for_function("() => !document.querySelector('#diagnostics li.error')")


def test_a_bad_pin_is_reported_at_its_field(page):
    pin = page.locator("#pin-move-x")
    pin.fill("0")
    pin.press("Enter")
    page.wait_for_selector("#diagnostics li.error")
    message = page.inner_text("#diagnostics li.error")
    assert "the pin move.x" in message and not re.search(r"line \d+", message)
    assert page.get_attribute("#pin-move-x", "aria-invalid") == "true"
    note = page.get_attribute("#pin-move-x", "aria-describedby")
    assert "at least 1" in page.inner_text(f"#{note}")
    page.click("#diagnostics li.error button")
    assert page.evaluate("() => document.activeElement.id") == "pin-move-x"
    pin.fill("")
    pin.press("Enter")
    page.wait_for_function("() => !document.querySelector('#diagnostics li.error')")
    assert page.get_attribute("#pin-move-x", "aria-invalid") is None
    assert page.locator(".field-error").count() == 0


def test_the_disks_slider_moves_one_disk_per_key_press(page):
    slider = page.locator("#param-disks")
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#param-disks", "aria-valuetext") == "21"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute("#param-disks", "aria-valuetext") == "19"


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-"))


def test_a_frontier_plan_shows_ratios_to_itself(page):
    page.click("#frontier-table-heading")
    rows = page.locator("#frontier-table tbody tr:not(.optimal) button")
    rows.last.click()
    page.wait_for_selector("#back-to-optimum:not([hidden])")
    summary = page.inner_text("#plan-summary")
    assert summary.startswith("Frontier plan")
    metric = re.search(r"for minimize (\w+)", summary).group(1)
    # every metric is labelled with its unit: dollars ($), cost (m·tokens)
    assert re.search(r"^dollars \(\$\)\s", summary, re.M), summary
    assert re.search(r"^latency \(forward passes\)\s", summary, re.M), summary
    shown = _number(re.search(rf"^{metric}( \(.+?\))?\s+([-0-9.,e+]+)$", summary, re.M).group(2))
    found = re.findall(
        r"baseline (\w+)\s+(?:infeasible: )?([-0-9.,e+]+) \(([0-9.e+-]+)× (.+?)\)", summary
    )
    assert found, summary
    for _name, value, ratio, which in found:
        assert which == "this plan"
        assert float(ratio) == pytest.approx(_number(value) / shown, rel=2e-2)


FOCUSABLE = """() => [...document.querySelectorAll(
    'button, select, input, textarea, summary, [tabindex="0"]')]
  .filter((e) => !e.disabled && !e.hidden && (e.offsetParent !== null || e.tagName === 'g'))
  .filter((e) => e.getBoundingClientRect().width > 0)
  .filter((e) => e.tagName === 'SUMMARY' || !e.closest('details:not([open])'))
  .map((e) => e.id || e.getAttribute('aria-label') || e.textContent.trim().slice(0, 40))"""


def test_a_keyboard_only_walk_reaches_every_control_in_order(page):
    expected = page.evaluate(FOCUSABLE)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    reached: list[str] = []
    outlines = []
    for _ in range(len(expected) + 5):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
              const rect = e.querySelector && e.querySelector(':scope > rect');
              if (e === document.body) return [null, true];
              return [e.id || e.getAttribute('aria-label') || e.textContent.trim().slice(0, 40),
                      s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2
                        || (rect && parseFloat(getComputedStyle(rect).strokeWidth) >= 3)]; }"""
        )
        if info[0] is None or info[0] in reached:  # past the last control, or round again
            break
        reached.append(info[0])
        outlines.append(info)
    assert reached[: len(expected)] == expected
    assert all(visible for _, visible in outlines), [n for n, v in outlines if not v]
    # the walk can act: Enter on a tree node shows its formula, Space opens the table
    page.locator("#tree g.node").nth(1).focus()
    assert page.inner_text("#node-detail")
    page.locator("#frontier-table-heading").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.querySelector('.frontier-details').open")


CONTRAST = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (e) => {
    for (let n = e; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  const selector = 'label, button, legend, select, output, .hint, .muted, .status, h1, h2, h3, '
    + 'summary, th, td, .diagnostics li, figcaption, #growth li';
  for (const e of document.querySelectorAll(selector)) {
    if (!e.textContent.trim() || e.closest('.stale') || e.offsetParent === null) continue;
    const fg = lum(rgb(getComputedStyle(e).color)), bg = lum(background(e));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const what = e.tagName + (e.id ? '#' + e.id : '') + ' ' + e.textContent.trim().slice(0, 30);
    out.push([what, ratio]);
  }
  return out;
}"""


def test_every_control_is_labelled_and_every_text_has_contrast(page):
    _growth(page)
    page.locator("#pin-move-x").fill("0")
    page.locator("#pin-move-x").press("Enter")  # an error shown: its colours count too
    page.wait_for_selector(".field-error")
    nameless = page.evaluate(
        """() => [...document.querySelectorAll('button, select, input, textarea, [role=treeitem]')]
          .filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label')
                          || e.textContent.trim()))
          .map((e) => e.outerHTML.slice(0, 80))"""
    )
    assert nameless == []
    low = [(what, round(r, 2)) for what, r in page.evaluate(CONTRAST) if r < 4.5]
    assert low == [], low
    # sliders announce their value, the status and diagnostics are live regions
    assert page.get_attribute("#param-disks", "aria-valuetext") == "20"
    assert page.get_attribute("#status", "aria-live") == "polite"
    assert page.get_attribute("#diagnostics", "aria-live") == "polite"


def test_the_plan_panel_is_busy_until_the_last_setting_is_answered(page):
    """A slider step marks the plan panel aria-busy at once; it clears only when the plan for
    the slider's final value is on screen."""
    _wait_for_plan(page)
    assert page.get_attribute("#plan-panel", "aria-busy") == "false"
    slider = page.locator("#param-disks")
    slider.focus()
    page.keyboard.press("End")
    assert page.get_attribute("#plan-panel", "aria-busy") == "true"
    page.wait_for_selector('#plan-panel[aria-busy="false"]', state="attached")
    top = page.get_attribute("#param-disks", "aria-valuetext")
    steps = f"{2 ** int(top) - 1:,}"
    assert steps in page.eval_on_selector("#tree svg", "svg => svg.textContent")
