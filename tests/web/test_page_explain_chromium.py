"""The page's "why they match" in real Chromium: overlays under a Compare verdict, and a
"Why?" on a search result for the query (an upload or a catalog image) against it."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.conftest import make_image
from tests.web.conftest import LiveServer
from tests.web.support import drag, open_tab, write_mosaic

SHOWN = re.compile(r"^Similarity -?\d\.\d{3} · 7×7 occlusion in \d+ ms$")


def loaded(images: Locator) -> None:
    """Every overlay image decoded to real pixels (a data: PNG the page's CSP allows)."""
    expect(images).to_have_count(2)
    for i in range(2):
        expect(images.nth(i)).to_have_js_property("complete", True)
        assert images.nth(i).evaluate("img => img.naturalWidth") > 0


def test_compare_shows_both_overlays_after_the_verdict(page: Page, tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    make_image(200).save(a)
    make_image(201).save(b)
    open_tab(page, "compare")
    page.locator("#compare-a-input").set_input_files(str(a))
    page.locator("#compare-b-input").set_input_files(str(b))
    expect(page.locator("#compare-verdict")).to_be_visible()
    box = page.locator("#compare-explain")
    expect(box.locator(".status")).to_have_text(SHOWN)
    loaded(box.locator(".explain-overlay img"))
    expect(box.locator("figcaption")).to_have_text(["First image", "Second image"])
    similarity = page.locator("#compare-similarity").inner_text()
    expect(box.locator(".status")).to_contain_text(f"Similarity {similarity}")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than it
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_why_on_a_result_of_an_upload_and_of_a_catalog_image(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    page.locator("#file-input").set_input_files(str(image_folder / "a" / "img_0001.png"))
    second = page.locator("#results li").nth(1)
    expect(second.locator("button.why")).to_be_visible()
    why, mark = (
        second.locator("button.why").bounding_box(),
        second.locator(".feedback").bounding_box(),
    )
    assert why and mark and why["x"] + why["width"] < mark["x"]  # a tag, not over the marks
    second.locator("button.why").click()
    box = page.locator("#search-explain")
    expect(box.locator(".status")).to_have_text(SHOWN)
    loaded(box.locator(".explain-overlay img"))
    uri = live_server.image_uri(int(second.get_attribute("data-id") or 0))
    expect(box.locator("figcaption")).to_have_text(["Query", uri])

    second.locator("button.open").click()  # now the query is that catalog image, by id
    expect(box).to_be_hidden()
    first = page.locator("#results li").first
    expect(first.locator("button.why")).to_have_count(1)
    with page.expect_response("**/api/v1/explain") as reply:
        first.locator("button.why").click()
    assert reply.value.status == 200
    assert "id_a" in (reply.value.request.post_data or "")
    expect(box.locator(".status")).to_have_text(SHOWN)
    loaded(box.locator(".explain-overlay img"))


def test_why_explains_the_region_searched_and_names_the_marks_it_leaves_out(
    page: Page, live_server: LiveServer, image_folder: Path, tmp_path: Path
) -> None:
    sources = [image_folder / "a" / f"img_{i:04d}.png" for i in range(4)]
    page.locator("#file-input").set_input_files(str(write_mosaic(sources, tmp_path / "m.png")))
    results = page.locator("#results li")
    expect(results).to_have_count(12)
    scale = page.locator("#query-image").evaluate("i => i.clientWidth / i.naturalWidth")
    drag(page, (96 * scale, 0), (192 * scale + 5, 80 * scale))  # clamped to 96,0,192,80
    expect(page.locator("#refine-summary")).to_have_text("Refined by region 96,0,192,80")
    # the summary is shown as the region search starts; its results, when the status says so
    expect(page.locator("#status")).to_contain_text("Refined by region 96,0,192,80: 12 results")
    first = results.first  # the quadrant's source image, at 1.000
    expect(first.locator("button.why")).to_have_count(1)
    score = float((first.locator(".score").inner_text()).split()[-1])
    first.locator("button.why").click()  # (Chromium hides a multipart body with a file)
    box = page.locator("#search-explain")
    expect(box.locator(".status")).to_have_text(SHOWN)
    loaded(box.locator(".explain-overlay img"))
    expect(box.locator("figcaption").first).to_have_text("Query region 96,0,192,80")
    shown = float(box.locator(".status").inner_text().split()[1])
    assert abs(shown - score) <= 0.0015  # the region search's score (the mosaic's is lower)

    results.nth(1).locator("button.mark.right").click()
    expect(page.locator("#status")).to_contain_text("Refined by region 96,0,192,80, 1 \u2713")
    results.first.locator("button.why").click()
    expect(box.locator(".status")).to_contain_text(
        "of the query region alone (the result's score also counts your 1 \u2713 / \u2717 mark)"
    )
    loaded(box.locator(".explain-overlay img"))
