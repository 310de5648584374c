"""Schemathesis against the reference server, driven by ``bookcheck``'s own OpenAPI document (issue 16).

One bounded, seeded run of Schemathesis' engine (the same one its CLI drives): every built-in check, the
examples, coverage, fuzzing and stateful phases, on a server loaded with a generated feed whose dates and
clock are pinned. Two checks of our own run on every answer:

- ``rejection_changed_no_state``: a 4xx answer left the server's whole state as it was (bookings, tokens,
  users, leases, every slot's open spots);
- ``answer_is_protobuf_json``: a 200 answer is accepted by protobuf's own JSON parser.

Any failure of any check fails the test, with Schemathesis' reproduction (a curl line) in the message.

One deliberate setting: ``positive_data_acceptance`` also expects 400. A schema cannot say which
merchants, services and slots exist, nor which fields a method requires (proto3 has no ``required``), so a
schema-valid body naming an unknown merchant is rightly a 400 (D9). Every other check runs as shipped.
"""

from __future__ import annotations

import collections
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from google.protobuf import json_format
from hostile_helpers import NOW, fingerprint, first_records, pinned_clock, slot_of, write_pinned_feed
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from booking_protocol import booking_pb2 as pb
from booking_protocol.openapi import build_document
from mock_server.server import RunningServer, ServerConfig, serve_in_thread

USER, PASSWORD = "google", "s3cret"
SEED = 16


class _Watch:
    """What our checks need between a call and its answer (the run is sequential: one worker)."""

    server: RunningServer | None = None
    before: Any = None
    rejections = 0
    parsed = 0


WATCH = _Watch()


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """The state just before each call (global hooks are the only ones the engine's calls run)."""
    if WATCH.server is not None:
        WATCH.before = fingerprint(WATCH.server.app.service)


@schemathesis.check
def rejection_changed_no_state(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx answer changed nothing (issue 16: "never changed state behind a 4xx")."""
    if WATCH.server is None or not 400 <= response.status_code < 500 or WATCH.before is None:
        return None
    WATCH.rejections += 1
    after = fingerprint(WATCH.server.app.service)
    if after != WATCH.before:
        raise AssertionError(f"a {response.status_code} answer changed the server's state")
    return True


@schemathesis.check
def answer_is_protobuf_json(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 200 answer of a booking method is valid for protobuf's own JSON parser."""
    method = case.operation.path.rsplit("/", 1)[-1]
    message = getattr(pb, method + "Response", None)
    if response.status_code != 200 or message is None:
        return None
    try:
        json_format.Parse(response.content, message(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise AssertionError(f"protobuf's JSON parser refuses the {method} answer: {exc}") from None
    WATCH.parsed += 1
    return True


def _examples(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Request bodies naming real slots of the feed, so the run also books, leases and cancels."""
    a, b, c = records[0], records[1], records[2]
    start = {"service_id": a["service_id"], "start_sec": str(a["start_sec"])}
    return {
        "BatchAvailabilityLookup": {"merchant_id": a["merchant_id"], "slot_time": [start]},
        "CheckAvailability": {"slot": slot_of(a)},
        "CreateLease": {
            "lease": {
                "slot": slot_of(b),
                "user_reference": "ex-lease",
                "lease_expiration_time_sec": str(int(NOW) + 300),
            }
        },
        "CreateBooking": {
            "slot": slot_of(c),
            "user_information": {"user_id": "ex-user"},
            "idempotency_token": "ex-token",
        },
        "ListBookings": {"user_id": "ex-user"},
    }


def _document(records: list[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(build_document())
    for method, body in _examples(records).items():
        doc["paths"][f"/v3/{method}"]["post"]["requestBody"]["content"]["application/json"]["example"] = body
    return doc


def _config(base_url: str) -> SchemathesisConfig:
    accepted = ["2xx", "400", "401", "403", "404", "409", "429"]
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "base-url": base_url,
            "workers": 1,
            "auth": {"basic": {"username": USER, "password": PASSWORD}},
            "generation": {"max-examples": 25, "mode": "all", "database": "none"},
            "checks": {"positive_data_acceptance": {"expected-statuses": accepted}},
            "phases": {
                # negative boundary cases only: the positive ones roughly double the run (~6,000 requests)
                "coverage": {"generation": {"mode": "negative"}},
                "stateful": {"enabled": True, "max-steps": 12},
            },
        }
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, dict[str, Any]]]:
    path: Path = tmp_path_factory.mktemp("schemathesis") / "availability.json"
    doc = write_pinned_feed(path)
    config = ServerConfig(port=0, feed=str(path), user=USER, password=PASSWORD, clock=pinned_clock())
    with serve_in_thread(config) as server:
        yield server, doc


def _failures(event: Any) -> Iterator[str]:
    for checks in event.recorder.checks.values():
        for check in checks:
            if check.status.value != "success" and check.failure_info is not None:
                info = check.failure_info
                yield f"{event.recorder.label}: {check.name}: {info.failure.title}\n{info.code_sample}"
            elif check.status.value == "error":
                yield f"{event.recorder.label}: {check.name} errored"


def test_schemathesis_finds_nothing(running: tuple[RunningServer, dict[str, Any]]) -> None:
    server, doc = running
    records = first_records(doc, 3)
    schema = schemathesis.openapi.from_dict(_document(records), config=_config(server.rest_url))

    WATCH.server, WATCH.before, WATCH.rejections, WATCH.parsed = server, None, 0, 0
    start_state = fingerprint(server.app.service)
    problems: list[str] = []
    statuses: collections.Counter[int] = collections.Counter()
    phases: dict[str, str] = {}
    try:
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
                problems.extend(_failures(event))
                statuses.update(
                    i.response.status_code for i in event.recorder.interactions.values() if i.response
                )
            elif isinstance(event, events.NonFatalError | events.FatalError):
                problems.append(f"schemathesis error: {event}")
            elif isinstance(event, events.PhaseFinished):
                phases[event.phase.name.value] = event.status.value
    finally:
        WATCH.server = WATCH.before = None
    assert not problems, "\n\n".join(sorted(set(problems))[:10])
    assert phases["stateful"] == "success" and phases["coverage"] == "success", phases
    assert sum(statuses.values()) >= 2000, statuses  # "a few thousand requests"
    assert statuses[500] == 0 and statuses[200] >= 30 and statuses[400] > 500, statuses
    assert WATCH.rejections > 1000 and WATCH.parsed >= 30, (WATCH.rejections, WATCH.parsed)
    assert fingerprint(server.app.service) != start_state  # the real slots were booked: state did move
