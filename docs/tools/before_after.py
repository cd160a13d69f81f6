"""The screenshots of docs/explorer.md's "Before and after": each fixed item, shot the
same way on the page of the aalp installed, as ``docs/explorer-fixes/NAME-LABEL.png``.

Usage: python docs/tools/before_after.py --label after [--only NAME...] [--chromium PATH]

The ``before`` shots were made by running this file with ``--label before`` and an aalp
installed from the commit before the explorer's fixes (25e1c3d^), the ``after`` ones with
this aalp. Each shot is a small crop of the page, reduced to 64 colours. Needs
``pip install playwright pillow`` and Debian's chromium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
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
HANOI = (ROOT / "samples" / "hanoi.aalp").read_text(encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--label", required=True, choices=["before", "after"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "explorer-fixes")
    parser.add_argument("--only", nargs="*", help="Make only these shots (default: all).")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
        try:
            for disks, shots in ((20, SHOTS_AT_20), (64, SHOTS_AT_64)):
                text = HANOI.replace("param disks = 20", f"param disks = {disks}")
                with _served(text) as url:
                    for name, shoot in shots.items():
                        if args.only and name not in args.only:
                            continue
                        page = _open(browser, url)
                        path = args.out / f"{name}-{args.label}.png"
                        shoot(page, path)
                        page.context.close()
                        _shrink(path)
                        print(f"wrote {path}")
        finally:
            browser.close()


class _served:
    """The explorer on ``text``, saved as samples/hanoi.aalp (with its prompts) in a folder of
    its own, the current directory while it serves: the page names it as a user would."""

    def __init__(self, text: str):
        self.text = text

    def __enter__(self) -> str:
        from aalp.explore.server import Document, Server

        self.folder = tempfile.TemporaryDirectory()
        self.cwd = Path.cwd()
        samples = Path(self.folder.name) / "samples"
        shutil.copytree(ROOT / "samples" / "prompts", samples / "prompts")
        (samples / "hanoi.aalp").write_text(self.text, encoding="utf-8")
        os.chdir(self.folder.name)
        self.server = Server(Document("samples/hanoi.aalp", samples / "hanoi.aalp", self.text))
        self.server.start()
        return self.server.url

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        os.chdir(self.cwd)
        self.folder.cleanup()


def _open(browser: Any, url: str) -> Any:
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page.set_default_timeout(120_000)
    page.goto(url)
    page.wait_for_selector("#tree svg g.node")
    page.wait_for_selector("#frontier-table tbody tr", state="attached")
    page.wait_for_function("document.querySelectorAll('#growth li').length >= 2")
    page.wait_for_timeout(1500)  # the charts' animations
    return page


def _figure(page: Any, canvas: str) -> Any:
    return page.locator(f"#{canvas}").locator("xpath=ancestor::figure[1]")


def _latency_axis(page: Any, path: Path) -> None:
    # minimizing latency, the frontier's latencies span less than a decade
    before = page.inner_text("#plan-summary")
    page.select_option("#objective", "minimize latency")
    page.wait_for_function(
        "old => document.querySelector('#plan-summary').innerText !== old", arg=before
    )
    page.wait_for_timeout(1500)
    _figure(page, "frontier-latency").screenshot(path=str(path))


def _growth(page: Any, path: Path) -> None:
    _figure(page, "sweep").screenshot(path=str(path))


def _bad_pin(page: Any, path: Path) -> None:
    pin = page.locator("#pin-move-x")
    pin.fill("0")
    pin.press("Enter")
    page.wait_for_selector("#diagnostics li.error")
    page.wait_for_timeout(500)
    _stacked(page, ["#pin-controls", "#diagnostics"], path)


def _go_to(page: Any, path: Path) -> None:
    # an error in the middle of the spec, the editor scrolled to its top
    page.locator("#spec").fill(HANOI.replace("reads 600 tokens", "reads 600 tokenz", 1))
    page.wait_for_selector("#diagnostics li.error button")
    page.evaluate("() => { document.querySelector('#spec').scrollTop = 0; }")
    page.click("#diagnostics li.error button")
    page.wait_for_timeout(300)
    page.locator(".editor").screenshot(path=str(path))


def _pasted(page: Any, path: Path) -> None:
    page.locator("#spec").fill((ROOT / "samples" / "counting.aalp").read_text(encoding="utf-8"))
    page.wait_for_function(
        "() => document.querySelector('#tree svg').textContent.includes('count')"
    )
    page.locator("header.bar").screenshot(path=str(path))


def _frontier_plan(page: Any, path: Path) -> None:
    page.click("#frontier-table-heading")
    page.locator("#frontier-table tbody tr:not(.optimal) button").last.click()
    page.wait_for_selector("#back-to-optimum:not([hidden])")
    page.wait_for_timeout(500)
    page.locator("#plan-summary").screenshot(path=str(path))


def _tree(page: Any, path: Path) -> None:
    page.locator(".tree-panel").screenshot(path=str(path))


def _charts(page: Any, path: Path) -> None:
    page.wait_for_timeout(3000)  # the growth sweep at that size
    page.locator(".charts").screenshot(path=str(path))


def _stacked(page: Any, selectors: list[str], path: Path) -> None:
    """The elements' shots one above the other, in one image."""
    from PIL import Image

    parts = []
    for i, selector in enumerate(selectors):
        part = path.with_name(f"{path.stem}.{i}.png")
        page.locator(selector).screenshot(path=str(part))
        parts.append(Image.open(part).convert("RGB"))
        part.unlink()
    whole = Image.new("RGB", (max(p.width for p in parts), sum(p.height for p in parts)), "white")
    y = 0
    for part in parts:
        whole.paste(part, (0, y))
        y += part.height
    whole.save(path)


def _shrink(path: Path) -> None:
    """The shot in 64 colours (a few tens of kilobytes; text and lines stay sharp)."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


SHOTS_AT_20: dict[str, Callable[[Any, Path], None]] = {
    "latency-axis": _latency_axis,
    "growth": _growth,
    "bad-pin": _bad_pin,
    "go-to": _go_to,
    "frontier-plan": _frontier_plan,
    "pasted": _pasted,
}
SHOTS_AT_64: dict[str, Callable[[Any, Path], None]] = {"tree-64": _tree, "charts-64": _charts}


if __name__ == "__main__":
    main()
