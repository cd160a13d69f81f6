"""The explorer in a real browser: Playwright driving Debian's chromium.

Open the explorer on a sample, move a slider and see the plan and the frontier change, click a
frontier point and see its plan, edit the spec into an error and see the diagnostic, fix it.
Skipped when chromium or Playwright is absent, unless ``AALP_REQUIRE_BROWSER=1`` (set by CI),
where their absence fails the run.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLES

CHROMIUM = os.environ.get("AALP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRED = os.environ.get("AALP_REQUIRE_BROWSER") == "1"
TIMEOUT = 240_000  # ms: a busy shared CPU (the whole suite in parallel) is never a reason to fail


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    for module in ("starlette", "uvicorn"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (it installs with aalp)"
    return None


MISSING = _missing()
if MISSING and REQUIRED:
    raise RuntimeError(f"AALP_REQUIRE_BROWSER=1 but {MISSING}")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("explore")
    (folder / "prompts").mkdir()
    for prompt in (SAMPLES / "prompts").iterdir():
        (folder / "prompts" / prompt.name).write_bytes(prompt.read_bytes())
    target = folder / "hanoi.aalp"
    target.write_bytes((SAMPLES / "hanoi.aalp").read_bytes())
    return target


@pytest.fixture(scope="module")
def server(spec_file: Path) -> Iterator[object]:
    from aalp.explore.server import Document, Server

    running = Server(Document(str(spec_file), spec_file, spec_file.read_text(encoding="utf-8")))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser, server) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    # the page may load nothing from anywhere but the explorer itself
    foreign: list[str] = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith((server.url, "data:", "blob:")) else foreign.append(r.url)
        ),
    )
    page.goto(server.url)
    _wait_for_plan(page)
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors
    assert not foreign, foreign


def _wait_for_plan(page) -> None:
    page.wait_for_selector("#tree svg g.node")
    page.wait_for_selector("#frontier-table tbody tr", state="attached")


def _snapshot(page) -> tuple[str, str, str]:
    return (
        page.inner_text("#plan-summary"),
        page.text_content("#frontier-table"),
        page.eval_on_selector("#tree svg", "svg => svg.textContent"),
    )


def test_moving_a_slider_changes_the_plan_and_the_frontier(page):
    before = _snapshot(page)
    assert "feasible" in before[0] and "task hanoi" in before[2]
    slider = page.locator("#param-disks")
    assert page.get_attribute("#param-disks", "aria-valuetext") == "20"
    slider.focus()
    for _ in range(8):  # the keyboard moves a slider as a hand does: step by step
        page.keyboard.press("PageDown")
    assert page.get_attribute("#param-disks", "aria-valuetext") != "20"
    page.wait_for_function(
        "old => document.querySelector('#frontier-table').textContent !== old", arg=before[1]
    )
    page.wait_for_function(
        "old => document.querySelector('#plan-summary').innerText !== old", arg=before[0]
    )
    after = _snapshot(page)
    assert after[0] != before[0] and after[1] != before[1] and after[2] != before[2]
    # the chunk count in the tree follows the new size: ceil(s / x) with s = 2^disks - 1 steps
    disks = int(page.get_attribute("#param-disks", "aria-valuetext"))
    chunks, x = re.search(r"([0-9,]+) chunks of x = ([0-9]+)", after[2]).groups()
    assert int(chunks.replace(",", "")) == math.ceil((2**disks - 1) / int(x))


def test_clicking_a_frontier_point_shows_that_plan(page):
    optimum = page.inner_text("#plan-summary")
    # click the first point drawn on the cost-vs-success chart, where Chart.js drew it
    canvas = page.locator("#frontier-success")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = page.evaluate(
        "() => { const p = Chart.getChart('frontier-success').getDatasetMeta(0).data[0];"
        " return [p.x, p.y]; }"
    )
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector("#back-to-optimum:not([hidden])")
    shown = page.inner_text("#plan-summary")
    assert shown.startswith("Frontier plan") and shown != optimum
    first = page.text_content("#frontier-table tbody tr:first-child td.decisions")
    for pair in first.split():
        key, value = pair.split("=")
        assert f"{key} = {value}" in shown
    page.click("#back-to-optimum")
    page.wait_for_selector("#back-to-optimum[hidden]", state="attached")
    optimal = "() => document.querySelector('#plan-summary').innerText.startsWith('Optimal plan')"
    page.wait_for_function(optimal)


def test_an_error_typed_into_the_spec_is_shown_inline_then_fixed(page):
    editor = page.locator("#spec")
    good = editor.input_value()
    bad = good.replace("chain move over s", "chain move ovr s")
    line = bad.splitlines().index("  chain move ovr s") + 1
    editor.fill(bad)
    page.wait_for_selector("#diagnostics li.error")
    message = page.inner_text("#diagnostics li.error")
    assert f"line {line}" in message
    assert page.get_attribute("#spec", "aria-invalid") == "true"
    assert page.inner_text("#gutter .bad") == str(line)
    editor.fill(good)
    page.wait_for_function("() => !document.querySelector('#diagnostics li.error')")
    assert page.get_attribute("#spec", "aria-invalid") == "false"
    _wait_for_plan(page)
    assert "feasible" in page.inner_text("#plan-summary")


def test_tree_nodes_are_reachable_by_keyboard_and_show_their_formula(page):
    page.locator("#tree g.node").nth(2).focus()
    detail = page.inner_text("#node-detail")
    assert "formula:" in detail and "dollars" in detail
    label = page.get_attribute("#tree g.node >> nth=2", "aria-label")
    assert label and "move" in label
    # every control has a label a screen reader can read
    unlabeled = page.evaluate(
        "() => [...document.querySelectorAll('input, select, textarea')]"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        ".map(e => e.id)"
    )
    assert unlabeled == []


def test_the_growth_chart_labels_each_series_with_its_class(page):
    page.wait_for_function("document.querySelectorAll('#growth li').length >= 3")
    growth = page.inner_text("#growth")
    assert "optimal plan: Θ(s·log s)" in growth and "baseline one_step_no_vote: Θ(s)" in growth
    labels = page.evaluate("() => Chart.getChart('sweep').data.datasets.map(d => d.label)")
    assert labels[0] == "optimal plan: Θ(s·log s)"


def test_download_code_and_spec(page):
    with page.expect_download() as info:
        page.click("#download-code")
    download = info.value
    assert download.suggested_filename == "hanoi-python.zip"
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        assert any(name.endswith(".py") for name in archive.namelist())
    with page.expect_download() as info:
        page.click("#download-spec")
    saved = Path(info.value.path()).read_text(encoding="utf-8")
    assert saved == page.locator("#spec").input_value()


def test_a_bad_pin_is_a_diagnostic_until_it_is_cleared(page):
    pin = page.locator("#pin-move-x")
    pin.fill("0")
    pin.press("Enter")
    page.wait_for_selector("#diagnostics li.error")
    assert "move.x" in page.inner_text("#diagnostics li.error")
    pin.fill("1")
    pin.press("Enter")
    page.wait_for_function("() => !document.querySelector('#diagnostics li.error')")
    page.wait_for_function(
        "() => document.querySelector('#plan-summary').innerText.includes('move.x = 1')"
    )


def test_a_slow_optimization_says_so_and_keeps_the_last_plan(browser, spec_file, monkeypatch):
    import explore_jobs
    from aalp.explore import api
    from aalp.explore.server import Document, Limits, Server

    # any disks but the sample's own never answers: the server gives up after 2 s
    monkeypatch.setattr(api, "optimize_spec", explore_jobs.optimize_hangs_unless_at_start)
    document = Document(str(spec_file), None, spec_file.read_text(encoding="utf-8"))
    with Server(document, limits=Limits(timeout=2)) as running:
        context = browser.new_context(viewport={"width": 1500, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        try:
            page.goto(running.url)
            _wait_for_plan(page)
            assert page.inner_text("#plan-summary").startswith("Optimal plan")
            page.locator("#param-disks").focus()
            page.keyboard.press("PageDown")
            page.wait_for_function(
                "() => document.querySelector('#status').textContent.startsWith('too slow')"
            )
            status = page.inner_text("#status")
            assert "more than 2 s" in status and "--timeout" in status
            assert "error" in page.get_attribute("#status", "class")
            # the plan last found for this text stays on screen, dimmed and named for what it is
            assert page.inner_text("#plan-summary").startswith("Last plan found")
            assert "stale" in page.get_attribute("#plan-summary", "class")
            page.wait_for_selector("#tree svg g.node")
        finally:
            context.close()
    assert not errors, errors
