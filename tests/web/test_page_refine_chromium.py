"""Refining a search on the page in real Chromium: drag a box on the query image, mark results
right or wrong and see the results refined at once (and the marks still stored)."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from search.examples import Example, search_examples
from tests.web.conftest import LiveServer
from tests.web.support import drag, write_mosaic


def shown_ids(page: Page) -> list[int]:
    ids = page.locator("#results li").evaluate_all("items => items.map(e => e.dataset.id)")
    return [int(i) for i in ids]


def test_dragging_a_box_searches_by_that_region(
    page: Page, live_server: LiveServer, image_folder: Path, tmp_path: Path
) -> None:
    sources = [image_folder / "a" / f"img_{i:04d}.png" for i in range(4)]
    page.locator("#file-input").set_input_files(str(write_mosaic(sources, tmp_path / "m.png")))
    expect(page.locator("#results li")).to_have_count(12)
    scale = page.locator("#query-image").evaluate("i => i.clientWidth / i.naturalWidth")
    drag(page, (96 * scale, 0), (192 * scale + 5, 80 * scale))  # past the edge: clamped
    expect(page.locator("#refine-summary")).to_have_text("Refined by region 96,0,192,80")
    expect(page.locator("#query-box")).to_be_visible()
    first = page.locator("#results li").first
    expect(first).to_have_attribute("data-id", str(live_server.image_id(sources[1])))
    expect(first.locator(".score")).to_have_text(re.compile(r"^#1\s+1\.000$"))

    drag(page, (10, 10), (12, 12))  # too small to be a box: the region stays
    expect(page.locator("#refine-summary")).to_have_text("Refined by region 96,0,192,80")

    page.locator("#box-clear").click()
    expect(page.locator("#query-box")).to_be_hidden()
    expect(page.locator("#refine-bar")).to_be_hidden()
    expect(page.locator("#status")).not_to_have_class(re.compile(r"\berror\b"))


def test_a_box_on_a_catalog_query_is_in_the_original_pixels(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    page.locator("#file-input").set_input_files(str(image_folder / "a" / "img_0002.png"))
    expect(page.locator("#results li")).to_have_count(12)
    page.locator("#results li").nth(1).locator("button.open").click()
    expect(page.locator("#results li")).to_have_count(11)
    page.wait_for_function("document.getElementById('query-image').naturalWidth > 0")
    size = page.locator("#query-image").evaluate("i => [i.clientWidth, i.clientHeight]")
    drag(page, (size[0] / 8, 0), (size[0] + 9, size[1] + 9))  # out past the corner: clamped
    expect(page.locator("#refine-summary")).to_have_text("Refined by region 12,0,96,80")
    expect(page.locator("#results li")).to_have_count(11)  # the query image is left out


def test_marks_refine_the_results_at_once_and_are_stored(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    from indexer.catalog.feedback import feedback_pairs

    query = image_folder / "b" / "img_0007.jpg"
    page.locator("#file-input").set_input_files(str(query))
    results = page.locator("#results li")
    expect(results).to_have_count(12)
    right, wrong = shown_ids(page)[1], shown_ids(page)[4]
    results.nth(1).locator("button.mark.right").click()
    expect(page.locator("#status")).to_contain_text("Refined by 1 \u2713 and 0 \u2717")
    expect(page.locator(f'#examples li[data-id="{right}"][data-verdict="right"]')).to_have_count(1)
    expect(page.locator(f'#results li[data-id="{right}"]')).to_have_count(0)
    page.locator(f'#results li[data-id="{wrong}"] button.mark.wrong').click()
    expect(page.locator("#status")).to_contain_text("marked wrong")
    expect(page.locator("#status")).to_contain_text("Refined by 1 \u2713 and 1 \u2717")
    expect(page.locator("#examples li")).to_have_count(2)

    data = query.read_bytes()
    examples = [Example(data=data), Example(image_id=right), Example(False, image_id=wrong)]
    expected = search_examples(live_server.runtime.engine, examples, k=12)
    assert shown_ids(page) == [hit.id for hit in expected.hits]

    with live_server.runtime.sessions() as session:
        pairs = feedback_pairs(session)
    assert [p.same for p in pairs] == [True, False]

    page.locator(f'#examples li[data-id="{wrong}"] button.remove').click()
    expect(page.locator("#examples li")).to_have_count(1)
    expect(page.locator(f'#results li[data-id="{wrong}"]')).to_have_count(1)
