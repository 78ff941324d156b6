"""The search page end to end: a real server, a real index and real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.conftest import LiveServer


def _upload(page: Page, path: Path) -> None:
    page.locator("#file-input").set_input_files(str(path))


def _indexed_file(image_folder: Path) -> Path:
    return image_folder / "b" / "img_0007.jpg"


def test_upload_finds_the_image_then_click_searches_by_result(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    query = _indexed_file(image_folder)
    _upload(page, query)
    first = page.locator("#results li").first
    expect(first).to_have_attribute("data-id", str(live_server.image_id(query)))
    expect(first.locator(".score")).to_have_text(re.compile(r"^#1\s+1\.000$"))
    expect(page.locator("#query-caption")).to_have_text(query.name)

    second = page.locator("#results li").nth(1)
    clicked = int(second.get_attribute("data-id") or "")
    second.locator("button.open").click()

    expect(page.locator("#query-caption")).to_have_text(live_server.image_uri(clicked))
    expect(page.locator(f'#results li[data-id="{clicked}"]')).to_have_count(0)
    expect(page.locator("#results li")).to_have_count(11)
    expect(page.locator("#status")).not_to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#results li .score").first).to_have_text(re.compile(r"^#1\s"))


def test_non_image_upload_shows_error_and_server_keeps_serving(
    page: Page, live_server: LiveServer, image_folder: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is plain text, not a picture\n")
    _upload(page, fake)
    status = page.locator("#status")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(status).to_contain_text(re.compile(r"not a recognised image", re.IGNORECASE))
    expect(page.locator("#results li")).to_have_count(0)

    query = _indexed_file(image_folder)
    _upload(page, query)
    first = page.locator("#results li").first
    expect(first).to_have_attribute("data-id", str(live_server.image_id(query)))
    expect(status).not_to_have_class(re.compile(r"\berror\b"))


def test_marking_results_right_and_wrong_stores_feedback(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    from indexer.catalog.feedback import feedback_pairs

    _upload(page, _indexed_file(image_folder))
    results = page.locator("#results li")
    expect(results).to_have_count(12)
    results.nth(0).locator("button.mark.right").click()  # the marks refine the results at once
    expect(page.locator('#examples li[data-verdict="right"]')).to_have_count(1)
    expect(page.locator("#status")).to_contain_text("Refined by 1")
    results.nth(3).locator("button.mark.wrong").click()
    expect(page.locator('#examples li[data-verdict="wrong"]')).to_have_count(1)
    expect(page.locator("#status")).to_contain_text("marked wrong")
    with live_server.runtime.sessions() as session:
        pairs = feedback_pairs(session)
    assert [p.same for p in pairs] == [True, False]
    assert pairs[0].result_path == str(_indexed_file(image_folder).resolve())
    assert Path(pairs[0].query_path).read_bytes() == _indexed_file(image_folder).read_bytes()
