"""The page's tool tabs end to end: compare, identify, novelty and duplicates in real Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from PIL import Image as PILImage
from playwright.sync_api import Page, expect

from tests.conftest import make_image
from tests.web.conftest import LiveServer
from tests.web.support import open_tab

ORIGINAL = Path("a") / "img_0002.png"
TWIN = Path("c") / "twin.png"  # byte-identical copy of ORIGINAL
RESAVED = Path("c") / "resaved.jpg"  # ORIGINAL re-encoded as JPEG quality 95
ERROR = re.compile(r"\berror\b")


@pytest.fixture
def image_folder(image_folder: Path) -> Path:
    """The shared catalog plus an identical and a near-identical copy of one image."""
    (image_folder / "c").mkdir()
    shutil.copyfile(image_folder / ORIGINAL, image_folder / TWIN)
    with PILImage.open(image_folder / ORIGINAL) as original:
        original.save(image_folder / RESAVED, format="JPEG", quality=95)
    return image_folder


@pytest.fixture
def uploads(tmp_path: Path) -> list[Path]:
    """Generated PNGs that are not in the catalog (seeds 100..103)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    paths = []
    for seed in range(100, 104):
        path = folder / f"up_{seed}.png"
        make_image(seed).save(path, format="PNG")
        paths.append(path)
    return paths


def _compare(page: Page, a: Path, b: Path, threshold: str) -> None:
    open_tab(page, "compare")
    page.locator("#compare-threshold").fill(threshold)
    page.locator("#compare-a-input").set_input_files(str(a))
    page.locator("#compare-b-input").set_input_files(str(b))


def test_tabs_are_accessible_and_search_still_works_after_switching(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    search, compare = page.locator("#tab-search"), page.locator("#tab-compare")
    expect(search).to_have_attribute("aria-selected", "true")
    expect(page.locator('[role="tabpanel"]:visible')).to_have_count(1)
    compare.click()
    expect(compare).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-selected", "false")
    expect(page.locator("#panel-search")).to_be_hidden()
    compare.press("ArrowRight")
    expect(page.locator("#tab-identify")).to_be_focused()
    expect(page.locator("#panel-identify")).to_be_visible()
    page.locator("#tab-identify").press("Home")
    expect(page.locator("#panel-search")).to_be_visible()

    query = image_folder / "b" / "img_0007.jpg"
    page.locator("#file-input").set_input_files(str(query))
    first = page.locator("#results li").first
    expect(first).to_have_attribute("data-id", str(live_server.image_id(query)))
    expect(first.locator(".score")).to_have_text(re.compile(r"^#1\s+1\.000$"))


def test_compare_same_image_twice_is_same(page: Page, uploads: list[Path]) -> None:
    _compare(page, uploads[0], uploads[0], "0.99")
    expect(page.locator("#compare-verdict")).to_have_text("SAME")
    expect(page.locator("#compare-similarity")).to_have_text("1.000")
    expect(page.locator("#compare-threshold-used")).to_contain_text("0.9900 (request)")
    expect(page.locator("#compare-a-zone img.zone-preview")).to_be_visible()
    expect(page.locator("#compare-status")).not_to_have_class(ERROR)


def test_compare_different_images_is_different(page: Page, uploads: list[Path]) -> None:
    _compare(page, uploads[0], uploads[1], "0.9999999")
    expect(page.locator("#compare-verdict")).to_have_text("DIFFERENT")
    expect(page.locator("#compare-verdict")).to_have_attribute("data-verdict", "different")
    similarity = float(page.locator("#compare-similarity").inner_text())
    assert similarity < 0.9999999


def test_without_calibration_there_is_no_verdict_and_the_page_says_how_to_calibrate(
    page: Page, uploads: list[Path], image_folder: Path
) -> None:
    expect(page.locator("#verdict-note")).to_contain_text("no match verdicts")
    page.locator("#file-input").set_input_files(str(image_folder / "a" / "img_0001.png"))
    expect(page.locator("#results li").first).to_be_visible()
    expect(page.locator("#results .verdict")).to_have_count(0)
    _compare(page, uploads[0], uploads[1], "")
    expect(page.locator("#compare-verdict")).to_have_text("Not calibrated")
    expect(page.locator("#compare-verdict")).to_have_attribute("data-verdict", "none")
    expect(page.locator("#compare-hint")).to_contain_text("lookalike calibrate --data DIR")
    expect(page.locator("#compare-threshold-used")).to_have_text("none")


def test_compare_non_image_shows_the_error(page: Page, uploads: list[Path], tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("plain text, not a picture\n")
    _compare(page, uploads[0], fake, "0.5")
    status = page.locator("#compare-status")
    expect(status).to_have_class(ERROR)
    expect(status).to_contain_text(re.compile(r"not a recognised image.*HTTP 4\d\d", re.I))
    expect(page.locator("#compare-result")).to_be_hidden()


def _enrol(page: Page, gallery: str, label: str, image: Path) -> None:
    page.locator("#enrol-gallery").fill(gallery)
    page.locator("#enrol-label").fill(label)
    page.locator("#enrol-file").set_input_files(str(image))
    page.locator("#enrol-submit").click()
    expect(page.locator("#identify-status")).to_have_text(f"Enrolled “{label}” in {gallery}.")


def test_enrol_two_labels_then_identify_an_enrolled_image(page: Page, uploads: list[Path]) -> None:
    open_tab(page, "identify")
    _enrol(page, "pets", "cat", uploads[0])
    _enrol(page, "pets", "dog", uploads[1])
    expect(page.locator("#identify-gallery")).to_have_value("pets")
    expect(page.locator("#gallery-summary")).to_contain_text("2 references")

    page.locator("#identify-input").set_input_files(str(uploads[1]))
    expect(page.locator("#identify-label")).to_have_text("dog")
    # One reference per label and an uncalibrated model: the nearest label, nothing decided.
    expect(page.locator("#identify-label")).to_have_attribute("data-known", "none")
    expect(page.locator("#identify-hint")).to_contain_text("not decided")
    candidates = page.locator("#identify-candidates li")
    expect(candidates).to_have_count(2)
    expect(candidates.first).to_have_attribute("data-label", "dog")
    expect(candidates.first.locator(".score")).to_have_text("1.000")


def test_identify_below_a_fixed_threshold_is_unknown(
    page: Page, live_server: LiveServer, uploads: list[Path]
) -> None:
    api = f"{live_server.url}/api/v1/galleries/people"
    for label, path in [("ann", uploads[0]), ("bob", uploads[1])]:
        image = {"name": path.name, "mimeType": "image/png", "buffer": path.read_bytes()}
        made = page.request.post(f"{api}/items", multipart={"image": image, "label": label})
        assert made.status == 201, made.text()
    patched = page.request.patch(api, data={"threshold": 0.9999})
    assert patched.ok and patched.json()["threshold"] == 0.9999

    open_tab(page, "identify")
    page.locator("#identify-gallery").select_option("people")
    page.locator("#identify-input").set_input_files(str(uploads[2]))
    expect(page.locator("#identify-label")).to_have_text("Unknown")
    expect(page.locator("#identify-label")).to_have_attribute("data-known", "false")
    expect(page.locator("#identify-threshold")).to_contain_text("0.9999")
    expect(page.locator("#identify-candidates li")).to_have_count(2)


def test_novelty_scores_an_upload_against_the_catalog(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    query = image_folder / "b" / "img_0009.jpg"
    open_tab(page, "novelty")
    page.locator("#novelty-input").set_input_files(str(query))
    verdict = page.locator("#novelty-verdict")
    expect(verdict).to_have_text(re.compile(r"^Looks (novel|normal)$"))
    score = float(page.locator("#novelty-score").inner_text())
    threshold = float(page.locator("#novelty-threshold").inner_text())
    assert verdict.inner_text() == ("Looks novel" if score > threshold else "Looks normal")
    neighbours = page.locator("#novelty-neighbours li")
    expect(neighbours).to_have_count(5)
    expect(neighbours.first).to_have_attribute("data-id", str(live_server.image_id(query)))
    expect(neighbours.first.locator("img")).to_have_attribute("src", re.compile(r"thumbnail"))
    expect(page.locator("#novelty-reference")).to_contain_text("catalog")


def test_duplicates_lists_near_and_identical_copies(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    original = live_server.image_id(image_folder / ORIGINAL)
    resaved = live_server.image_id(image_folder / RESAVED)
    open_tab(page, "duplicates")
    page.locator("#duplicates-threshold").fill("0.9")
    page.locator("#duplicates-find").click()

    near = page.locator("#duplicates-near li.dup-group").filter(
        has=page.locator(f'img[data-id="{original}"]')
    )
    expect(near).to_have_count(1)
    expect(near.locator(f'img[data-id="{resaved}"]')).to_have_count(1)

    exact = page.locator("#duplicates-exact li.dup-group")
    expect(exact).to_have_count(1)
    titles = {exact.locator("img").nth(i).get_attribute("title") for i in range(2)}
    assert titles == {p.as_posix() for p in (ORIGINAL, TWIN)}  # names under the folder
    expect(exact.locator("img")).to_have_count(2)
    expect(page.locator("#duplicates-status")).not_to_have_class(ERROR)


def test_unreachable_server_shows_a_clear_error(page: Page) -> None:
    page.route("**/api/v1/duplicates*", lambda route: route.abort("connectionrefused"))
    open_tab(page, "duplicates")
    page.locator("#duplicates-find").click()
    status = page.locator("#duplicates-status")
    expect(status).to_have_class(ERROR)
    expect(status).to_contain_text("Could not reach the server")
    expect(page.locator("#duplicates-result")).to_be_hidden()
