"""pytest plugin: the bookcheck scenarios as pytest items.

    pytest -p harness.pytest_plugin --bookcheck-target https://host/base --bookcheck-feed avail.json \\
           [-n auto] [--junitxml out.xml]

(With bookcheck installed the plugin is registered through the ``pytest11`` entry point, so ``-p`` is not
needed.) Without ``--bookcheck-target`` the plugin does nothing. Each scenario becomes one item named
after its id; an item fails when its scenario has an error-level deviation (or a warning with
``--bookcheck-fail-on warning``), is skipped with the reason when the scenario is skipped, and passes
otherwise. Items go through :func:`harness.runner.run` like the CLI: slots are allocated for the whole
suite in every process, so pytest-xdist workers never share a slot and verdicts equal the CLI's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from harness.results import ScenarioResult, Status


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("bookcheck", "bookcheck conformance scenarios")
    g.addoption(
        "--bookcheck-target", metavar="URL", help="booking server to test (https://host/base or grpc://)"
    )
    g.addoption("--bookcheck-feed", metavar="PATH", help="the target's availability feed")
    g.addoption("--bookcheck-user", help="HTTP Basic user (or BOOKCHECK_USER)")
    g.addoption("--bookcheck-password", help="HTTP Basic password (or BOOKCHECK_PASSWORD)")
    g.addoption("--bookcheck-credentials-file", metavar="FILE", help="one line 'username:password'")
    g.addoption("--bookcheck-profile", metavar="FILE", help="target profile YAML")
    g.addoption("--bookcheck-suite", default="default", help="default, google-test-client, smoke or all")
    g.addoption("--bookcheck-seed", type=int, default=0, help="seed (default 0)")
    g.addoption("--bookcheck-fail-on", choices=("error", "warning"), default="error")
    g.addoption("--bookcheck-timeout", type=float, default=10.0, help="per-call timeout in seconds")
    g.addoption("--bookcheck-insecure", action="store_true", help="do not verify TLS certificates")
    g.addoption("--bookcheck-ca-file", metavar="PEM")


_FEEDS: dict[str, Any] = {}


def _feed(path: str | None) -> Any:
    """The feed, loaded once per process (every item of a session reads the same file)."""
    from booking_protocol.feed import load_availability_feed

    if not path:
        return None
    if path not in _FEEDS:
        _FEEDS[path] = load_availability_feed(path)
    return _FEEDS[path]


def _config(pc: pytest.Config, only: tuple[str, ...]) -> Any:
    from harness.profile import TargetProfile, load_profile
    from harness.runner import RunConfig
    from harness.targets import Credentials, TargetOptions

    user = pc.getoption("--bookcheck-user") or os.environ.get("BOOKCHECK_USER")
    password = pc.getoption("--bookcheck-password") or os.environ.get("BOOKCHECK_PASSWORD")
    cred_file = pc.getoption("--bookcheck-credentials-file")
    if cred_file and not user:
        with open(cred_file, encoding="utf-8") as fh:
            user, _, password = fh.read().strip().partition(":")
    creds = Credentials(user, password or "") if user else None
    feed_path = pc.getoption("--bookcheck-feed")
    profile_path = pc.getoption("--bookcheck-profile")
    return RunConfig(
        target=TargetOptions(
            url=pc.getoption("--bookcheck-target"),
            credentials=creds,
            timeout=pc.getoption("--bookcheck-timeout"),
            insecure=pc.getoption("--bookcheck-insecure"),
            ca_file=pc.getoption("--bookcheck-ca-file"),
        ),
        feed=_feed(feed_path),
        profile=load_profile(profile_path) if profile_path else TargetProfile(),
        suite=pc.getoption("--bookcheck-suite"),
        seed=pc.getoption("--bookcheck-seed"),
        workers=1,
        fail_on=pc.getoption("--bookcheck-fail-on"),
        only=only,
    )


class BookcheckFailure(Exception):
    """A scenario with deviations (its text is the item's failure report)."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario_id: str, title: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.scenario_id = scenario_id
        self.title = title

    def runtest(self) -> None:
        from harness.runner import run

        result = run(_config(self.config, (self.scenario_id,)))
        sr = next(s for s in result.scenarios if s.scenario_id == self.scenario_id)
        self.user_properties.append(("bookcheck_status", sr.status.value))
        if sr.status == Status.SKIP:
            pytest.skip(sr.reason or "skipped")
        fail_on = self.config.getoption("--bookcheck-fail-on")
        bad = [
            c
            for c in sr.checks
            if c.status == Status.FAIL or (fail_on == "warning" and c.status == Status.WARN)
        ]
        if bad or sr.status == Status.ERROR:
            raise BookcheckFailure(_describe(sr, bad))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, BookcheckFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "bookcheck", None, f"bookcheck: {self.scenario_id}"


def _describe(sr: ScenarioResult, bad: list[Any]) -> str:
    lines = [f"{sr.scenario_id}: {sr.title}"]
    if sr.reason:
        lines.append(f"  {sr.reason}")
    for c in bad:
        lines.append(f"  {c.status.value} {c.rule_id} ({c.spec}) at step {c.step}: {c.message}")
        lines.append(f"    expected: {c.expected}")
        lines.append(f"    actual:   {c.actual}")
        if c.reproduce:
            lines.append(f"    reproduce: {c.reproduce}")
    return "\n".join(lines)


class BookcheckSuite(pytest.Collector):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.runner import RunConfig, select_scenarios
        from harness.targets import TargetOptions

        cfg = RunConfig(
            target=TargetOptions(url="http://unused"), suite=self.config.getoption("--bookcheck-suite")
        )
        _alloc, selected = select_scenarios(cfg)
        for s in selected:
            yield ScenarioItem.from_parent(self, name=s.id, scenario_id=s.id, title=s.title)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not config.getoption("--bookcheck-target"):
        return
    suite = BookcheckSuite.from_parent(session, name="bookcheck")
    items.extend(suite.collect())
