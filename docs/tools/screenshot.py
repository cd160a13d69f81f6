"""Regenerate docs/explorer.png: the explorer on samples/hanoi.aalp in headless chromium (the
README's picture; docs/tools/before_after.py makes docs/explorer.md's before/after pairs).

Usage: python docs/tools/screenshot.py [--chromium /usr/bin/chromium]
Needs `pip install playwright` and Debian's chromium.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

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
            _shrink(args.out)
            browser.close()
    finally:
        server.stop()
    print(f"wrote {args.out}")


def _shrink(path: Path) -> None:
    """The shot in 128 colours when Pillow is installed (a third of the bytes, text sharp)."""
    try:
        from PIL import Image
    except ImportError:
        return
    image = Image.open(path).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


if __name__ == "__main__":
    main()
