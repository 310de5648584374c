"""The HTML report as a person sees it: rendered in headless Chromium (Playwright) at 1280×800.

The report of a run against the reference server with ``--fault overbook`` must show, without scrolling,
the verdict sentence and every broken rule's name; keep evidence collapsed; filter by status and by text
with its own (CSP-allowed) script; and fetch nothing from any network address.

Chromium is a requirement of this test, not an option: Debian's ``chromium`` (``.ci/run`` installs it), or
the binary named by ``BOOKCHECK_CHROMIUM``. When it is missing the test fails, it never skips.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.results import RunResult
from reports.html_report import render
from reports.overview import broken_rules

VIEWPORT = {"width": 1280, "height": 800}


def chromium_path() -> str:
    """The Chromium binary to drive; a clear failure (never a skip) when there is none."""
    found = (
        os.environ.get("BOOKCHECK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found or not Path(found).exists():
        pytest.fail(
            "Chromium is required for the browser test: apt-get install chromium (or set BOOKCHECK_CHROMIUM)"
        )
    return found


@pytest.fixture(scope="module")
def page_of(
    overbook_run: RunResult, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[object, list[str], list[str]]]:
    """The report opened in Chromium, with every request the page made and its console errors."""
    from playwright.sync_api import sync_playwright

    report = tmp_path_factory.mktemp("browser") / "report.html"
    report.write_text(render(overbook_run), encoding="utf-8")
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        yield page, requests, errors
        browser.close()


def _in_first_screen(page: object, selector: str) -> bool:
    box = page.locator(selector).bounding_box()  # type: ignore[attr-defined]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"]


def test_first_screen_shows_the_verdict_and_every_broken_rule(
    page_of: tuple, overbook_run: RunResult
) -> None:
    page, _requests, _errors = page_of
    verdict = page.locator("#verdict")
    assert verdict.is_visible() and _in_first_screen(page, "#verdict")
    assert "breaks" in verdict.inner_text() and "MUST" in verdict.inner_text()
    names = [b.rule_id for b in broken_rules(overbook_run)]
    assert "create-booking/full-slot-unavailable" in names
    for name in names:
        selector = f'#broken-rules li[data-rule="{name}"]'
        assert page.locator(selector).is_visible(), name
        assert _in_first_screen(page, selector), f"{name} is below the first screen"
    capacity = page.locator('#broken-rules li[data-rule="create-booking/full-slot-unavailable"]').inner_text()
    assert "full slot" in capacity and "How to fix" in capacity


def test_evidence_is_collapsed(page_of: tuple) -> None:
    page, _requests, _errors = page_of
    details = page.locator("details")
    assert details.count() > 0
    assert page.locator("details[open]").count() == 0
    assert not page.locator(".exchange pre").first.is_visible()
    page.locator("summary", has_text="Evidence").first.click()
    assert page.locator(".exchange pre").first.is_visible()


def test_status_and_text_filters_work_offline(page_of: tuple) -> None:
    page, _requests, errors = page_of
    passing = page.locator('tr[data-status="PASS"]')
    failing = page.locator('[data-status="FAIL"]')
    assert passing.count() > 0 and passing.first.is_visible()
    page.locator('button[data-filter="FAIL"]').click()
    assert all(not passing.nth(i).is_visible() for i in range(passing.count()))
    assert failing.first.is_visible()
    page.locator('button[data-filter="all"]').click()
    page.locator("#filter-text").fill("lease/holds")
    visible = [t for t in page.locator("[data-status]").all() if t.is_visible()]
    assert visible and all("lease/holds" in v.inner_text() for v in visible)
    page.locator("#filter-text").fill("")
    assert passing.first.is_visible()
    assert errors == [], errors  # the CSP let the report's own script run, and nothing else failed


def test_the_page_fetches_nothing(page_of: tuple) -> None:
    _page, requests, _errors = page_of
    assert requests and all(u.startswith("file://") for u in requests), requests


def test_the_report_of_a_one_fault_run_prints_in_a_few_pages(page_of: tuple) -> None:
    page, _requests, _errors = page_of
    page.reload()  # as opened: evidence collapsed, no filter
    pdf = page.pdf(format="A4")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 0 < pages <= 12, pages
