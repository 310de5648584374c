"""The HTML report is one self-contained file, escapes everything the target sent, and has every section."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.results import RunResult
from reports import html_report, write_report

HOSTILE = "</script><script>alert(1)</script>"  # as in conftest.py
NON_ASCII = "Café Zürich — 予約 ✓"  # as in conftest.py


_URL_ATTRS = {
    "src",
    "href",
    "action",
    "formaction",
    "data",
    "poster",
    "srcset",
    "background",
    "cite",
    "manifest",
}


class _Page(HTMLParser):
    """Collects what a browser would fetch or run: URL attributes, script blocks, event handlers, ids."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self.ids: set[str] = set()
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            if name in _URL_ATTRS:
                self.urls.append((tag, name, value or ""))
            if name.startswith("on"):
                self.handlers.append(f"{tag}.{name}")
            if name == "id" and value:
                self.ids.add(value)
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture
def page(troubled_run: RunResult, tmp_path: Path) -> str:
    path = tmp_path / "out" / "report.html"
    write_report("html", str(path), troubled_run)
    return path.read_text(encoding="utf-8")


def test_self_contained_no_external_reference(page: str) -> None:
    parsed = _parse(page)
    for tag, attr, value in parsed.urls:
        assert value.startswith("#"), f"<{tag} {attr}={value!r}> points outside the file"
    assert not any(tag == "link" for tag, _ in parsed.tags)
    assert not any(tag in ("iframe", "object", "embed", "img") for tag, _ in parsed.tags)
    assert all("url(" not in css and "@import" not in css for css in parsed.styles)
    assert all("http" not in js and "fetch" not in js and "import" not in js for js in parsed.scripts)


def test_hostile_content_is_escaped_not_executed(page: str) -> None:
    parsed = _parse(page)
    assert len(parsed.scripts) == 1, "only the report's own copy-button script"
    assert HOSTILE not in page and "alert(1)" not in "".join(parsed.scripts)
    assert parsed.handlers == []
    # ... yet the partner sees the hostile text exactly as the server sent it
    assert HOSTILE in "".join(parsed.text)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\x00" not in page


def test_csp_allows_only_the_reports_own_script(page: str) -> None:
    csp = next(a["content"] for t, a in _parse(page).tags if t == "meta" and a.get("http-equiv"))
    assert csp is not None and "default-src 'none'" in csp
    script_src = re.search(r"script-src ([^;]*);", csp)
    assert script_src is not None
    assert script_src.group(1) == f"'sha256-{html_report._SCRIPT_HASH}'"
    # the hash is the hash of the script actually in the page
    script = _parse(page).scripts[0]
    assert base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() == html_report._SCRIPT_HASH


def test_non_ascii_is_kept(page: str) -> None:
    assert '<meta charset="utf-8">' in page
    assert NON_ASCII in page


def test_sections_and_evidence(page: str, troubled_run: RunResult) -> None:
    parsed = _parse(page)
    assert {"first-screen", "verdict", "broken-rules", "broken", "scenarios", "run"} <= parsed.ids
    assert {"rule-lease-hold-last-spot", "rule-create-booking-idempotent-replay"} <= parsed.ids
    text = " ".join(parsed.text)
    assert "Your server breaks 1 MUST rule" in text
    assert "2/5 rules satisfied, 3 failed, 1 skipped, 1 not exercised" in text
    assert "A live lease MUST hold the leased spot." in text  # the rule in one sentence
    assert "booking_failure SLOT_UNAVAILABLE" in text  # expected
    assert "POST http://127.0.0.1:8080/v3/CreateLease" in text  # the earlier exchange behind it
    assert '"merchant_id": "m1"' in text  # pretty JSON body
    assert "timed out after 5 s" in text  # the ERROR scenario's reason
    assert "Checks that could not be judged (1)" in text
    assert (
        "ListBookings: POST http://127.0.0.1:8080/v3/ListBookings -> no response: timed out after 5 s" in text
    )
    assert "over budget" in text  # CreateBooking max 4200 > 4000 ms
    assert "auth/basic-401 auth/no-credentials" in text  # stale baseline entry
    assert "left behind" in text and "cancel answered 500" in text
    copy = [a for t, a in parsed.tags if t == "button" and a.get("class") == "copy"]
    assert len(copy) == 3  # one reproduce box per broken rule
    assert "bookcheck replay REPORT.json --rule lease/hold-last-spot --target URL" in text
    assert "DIR/lease__hold-last-spot.sh" in text
    assert "export BOOKCHECK_USER=... BOOKCHECK_PASSWORD=..." in text
    assert [a for t, a in parsed.tags if t == "details" and "open" in a] == []  # evidence collapsed


def test_broken_rules_ordered_failing_first(troubled_run: RunResult) -> None:
    page = html_report.render(troubled_run)
    first = page.index('id="rule-lease-hold-last-spot"')
    baselined = page.index('id="rule-create-booking-idempotent-replay"')
    warning = page.index('id="rule-create-booking-cause-specified"')
    assert first < baselined and first < warning


def test_passing_run_says_so(passing_run: RunResult) -> None:
    text = " ".join(_parse(html_report.render(passing_run)).text)
    assert "Your server passes: no MUST rule broken in 3 scenarios." in text and "No rule broken" in text


def test_deterministic(troubled_run: RunResult) -> None:
    again = RunResult.from_dict(troubled_run.to_dict())
    assert html_report.render(troubled_run) == html_report.render(again)


def test_hostile_target_url_and_suite_are_escaped(passing_run: RunResult) -> None:
    hostile = dataclasses.replace(
        passing_run, target=f"http://x/{HOSTILE}", suite='"><img src=x onerror=alert(1)>'
    )
    parsed = _parse(html_report.render(hostile))
    assert len(parsed.scripts) == 1 and parsed.handlers == []
    assert not any(tag == "img" for tag, _ in parsed.tags)
