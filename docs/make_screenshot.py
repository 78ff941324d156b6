"""Take docs/screenshot.png: search a running Lookalike server by an image in headless Chromium.

Usage: python docs/make_screenshot.py IMAGE [--url http://127.0.0.1:5000] [--out PATH]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import Page, ViewportSize, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = ViewportSize(width=1280, height=800)
TIMEOUT_MS = 60_000
DEFAULT_OUT = Path(__file__).resolve().parent / "screenshot.png"
# True once every result thumbnail that is (at least partly) in the viewport has loaded.
VISIBLE_THUMBNAILS_LOADED = """() => [...document.querySelectorAll('#results img')]
  .filter((img) => img.getBoundingClientRect().top < window.innerHeight)
  .every((img) => img.complete && img.naturalWidth > 0)"""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", type=Path, help="the query image to upload")
    parser.add_argument("--url", default="http://127.0.0.1:5000", help="a running server")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to save the PNG")
    return parser.parse_args(argv)


def search_on_page(page: Page, url: str, image: Path) -> None:
    """Open the page, upload `image` and wait until the visible results are drawn."""
    page.goto(url.rstrip("/") + "/")
    page.locator("#file-input").set_input_files(str(image))
    page.locator("#results li").first.wait_for()
    page.wait_for_function(VISIBLE_THUMBNAILS_LOADED)
    if "error" in (page.locator("#status").get_attribute("class") or ""):
        raise RuntimeError(f"search failed: {page.locator('#status').inner_text()}")


def make_screenshot(url: str, image: Path, out: Path) -> None:
    """Save a 1280x800 screenshot of the page after searching by `image`."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(TIMEOUT_MS)
            search_on_page(page, url, image)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    make_screenshot(args.url, args.image, args.out)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
