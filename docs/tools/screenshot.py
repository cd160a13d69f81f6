"""Regenerate docs/explorer.png: the explorer on samples/hanoi.aalp in headless chromium,
and the screenshots of docs/explorer.md's "What the page never does" (docs/explorer-*.png).

Usage: python docs/tools/screenshot.py [--chromium /usr/bin/chromium]
Needs `pip install playwright` and Debian's chromium.
"""

from __future__ import annotations

import argparse
import shutil
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "explorer.png")
    args = parser.parse_args()

    from aalp.explore.server import Document, Server
    from playwright.sync_api import sync_playwright

    spec = ROOT / "samples" / "hanoi.aalp"
    # The document is named as a user would open it, so the page shows a relative path.
    server = Server(Document("samples/hanoi.aalp", spec, spec.read_text(encoding="utf-8")))
    server.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(server.url)
            page.wait_for_selector("#tree svg g.node")
            page.wait_for_selector("#frontier-table tbody tr", state="attached")
            page.wait_for_timeout(4000)  # the growth chart arrives after the plan
            page.screenshot(path=str(args.out), full_page=True)
            _details(page, args.out.parent)
            browser.close()
    finally:
        server.stop()
    print(f"wrote {args.out}")


def _details(page: Any, folder: Path) -> None:
    """One screenshot per thing the page must not get wrong (docs/explorer.md)."""
    page.locator("#sweep").scroll_into_view_if_needed()
    page.locator(".charts figure.wide").screenshot(path=str(folder / "explorer-growth.png"))
    pin = page.locator("#pin-move-x")
    pin.fill("0")
    pin.press("Enter")
    page.wait_for_selector(".field-error")
    page.locator(".controls-panel").screenshot(path=str(folder / "explorer-pin.png"))
    pin.fill("")
    pin.press("Enter")
    page.wait_for_function("() => !document.querySelector('.field-error')")
    slider = page.locator("#param-disks")
    slider.focus()
    page.keyboard.press("End")  # 64 disks: 2^64 - 1 steps
    page.wait_for_function(
        "() => document.querySelector('#tree svg').textContent.includes('18,446,744')"
    )
    page.wait_for_timeout(6000)  # and the growth sweep at that size
    page.locator(".tree-panel").screenshot(path=str(folder / "explorer-64-tree.png"))
    page.locator(".charts").screenshot(path=str(folder / "explorer-64-charts.png"))
    page.locator("#spec").fill((ROOT / "samples" / "counting.aalp").read_text(encoding="utf-8"))
    page.wait_for_function(
        "() => document.querySelector('#doc-name').textContent.includes('pasted')"
    )
    page.locator("header.bar").screenshot(path=str(folder / "explorer-pasted.png"))
    print(f"wrote {folder}/explorer-*.png")


if __name__ == "__main__":
    main()
