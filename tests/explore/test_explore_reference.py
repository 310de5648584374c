"""Self-consistency: explore against bookcheck's own reference server finds nothing — over REST, over gRPC,
and with the §11 column-3 options the server can switch to (the model follows the choice the server took)."""

from __future__ import annotations

from explorehelp import FULL_PROFILE, explore, serve

from harness.explore.driver import ExploreOutcome
from harness.profile import TargetProfile


def _nothing_found(out: ExploreOutcome) -> None:
    found = {rule: f.example.failure for rule, f in out.found.items()}
    assert found == {}, found
    assert out.switched() == {}
    assert out.transport_errors == 0 and out.cleanup_problems == []
    assert out.ops >= 100, "the budget should have driven real traffic"


def test_rest_reference_server_shows_no_divergence() -> None:
    with serve() as served:
        out = explore(served.rest_url, seed=2, max_examples=70, duration=25)
    _nothing_found(out)
    assert set(out.choices.get("D8", {})) <= {"BOOKING_ALREADY_CANCELLED"}  # column 2 of §11, nothing else
    assert set(out.choices.get("D10", {})) <= {"SLOT_ALREADY_BOOKED_BY_USER"}
    assert out.choices, "the histories met some decision of §11 column 3"


def test_grpc_reference_server_shows_no_divergence() -> None:
    profile = TargetProfile(transports=("grpc",), availability="both", leases=True, party_size_change=True)
    with serve(grpc=True) as served:
        assert served.grpc_url is not None
        out = explore(served.grpc_url, profile, seed=3, max_examples=50, duration=25)
    _nothing_found(out)


def test_other_allowed_choices_are_followed_not_failed() -> None:
    options = dict(
        json_names="camel",
        int64_json="number",
        unknown_booking_status=400,
        recancel="echo",
        invalid_slot="400",
        same_user_rebook="allow",
    )
    with serve(**options) as served:
        out = explore(served.rest_url, seed=4, max_examples=70, duration=25)
    _nothing_found(out)
    assert set(out.choices.get("D8", {})) <= {"echo"} and set(out.choices.get("D9", {})) <= {"400"}
    assert set(out.choices.get("D5", {})) <= {"400"}
    assert set(out.choices.get("D10", {})) <= {"a new booking"}


def test_more_allowed_choices_lists_and_overlapping() -> None:
    options = dict(unknown_user="404", list_bookings="active", same_user_rebook="overlapping")
    with serve(**options) as served:
        out = explore(served.rest_url, FULL_PROFILE, seed=5, max_examples=70, duration=25)
    _nothing_found(out)
    assert set(out.choices.get("D10", {})) <= {"OVERLAPPING_RESERVATION"}
    assert set(out.choices.get("D6", {})) <= {"404"}


def test_a_target_switching_between_allowed_answers_is_warned_about() -> None:
    from harness.explore.report import summary_lines

    out = ExploreOutcome(examples=9, ops=40, elapsed_sec=1.0)
    out.choices = {"D8": {"BOOKING_ALREADY_CANCELLED": 2, "echo": 7}, "D5": {"404": 1}}
    assert out.switched() == {"D8": {"BOOKING_ALREADY_CANCELLED": 2, "echo": 7}}
    lines = summary_lines(out, None, {})
    assert any(line.startswith("WARN the target switched between allowed answers for D8") for line in lines)
