"""Every "allowed choice" option (§11 column 3) switches exactly its behaviour over real HTTP."""

from __future__ import annotations

from srvhelpers import BASE, H, Serve, create, slot


def test_json_names_camel(serve: Serve) -> None:
    _, c = serve(json_names="camel")
    b = create(c, "a").body["booking"]
    assert {"bookingId", "slot", "userInformation", "status"} <= set(b)
    assert b["slot"]["startSec"] == str(BASE) and b["userInformation"]["userId"] == "u1"
    bal = c.call(
        "BatchAvailabilityLookup", {"merchant_id": "m1", "slot_time": [{"service_id": "s1", "start_sec": 1}]}
    )
    assert bal.body == {
        "slotTimeAvailability": [{"slotTime": {"serviceId": "s1", "startSec": "1"}, "available": False}]
    }
    st = c.call("GetBookingStatus", {"booking_id": b["bookingId"]}).body
    assert st["bookingStatus"] == "CONFIRMED"


def test_int64_as_number(serve: Serve) -> None:
    _, c = serve(int64_json="number")
    b = create(c, "a").body["booking"]
    assert b["slot"]["start_sec"] == BASE and b["slot"]["duration_sec"] == H
    lease = c.call("CreateLease", {"lease": {"slot": slot(start=BASE + H), "user_reference": "r"}}).body[
        "lease"
    ]
    assert isinstance(lease["lease_expiration_time_sec"], int)


def test_unknown_booking_400(serve: Serve) -> None:
    _, c = serve(unknown_booking_status=400)
    r = c.call("GetBookingStatus", {"booking_id": "nope"})
    assert r.status == 400 and r.body["error"]["status"] == "INVALID_ARGUMENT"
    assert c.call("UpdateBooking", {"booking": {"booking_id": "nope", "status": "CANCELED"}}).status == 400


def test_unknown_user_404(serve: Serve) -> None:
    _, c = serve(unknown_user="404")
    r = c.call("ListBookings", {"user_id": "stranger"})
    assert r.status == 404 and r.body["error"]["status"] == "NOT_FOUND"
    create(c, "a", "u1")
    assert len(c.call("ListBookings", {"user_id": "u1"}).body["bookings"]) == 1


def test_list_bookings_active(serve: Serve) -> None:
    _, c = serve(list_bookings="active")
    a = create(c, "a").body["booking"]["booking_id"]
    b = create(c, "b", start=BASE + H).body["booking"]["booking_id"]
    c.call("UpdateBooking", {"booking": {"booking_id": a, "status": "CANCELED"}})
    listed = c.call("ListBookings", {"user_id": "u1"}).body["bookings"]
    assert [x["booking_id"] for x in listed] == [b]


def test_recancel_echo(serve: Serve) -> None:
    _, c = serve(recancel="echo")
    a = create(c, "a").body["booking"]["booking_id"]
    c.call("UpdateBooking", {"booking": {"booking_id": a, "status": "CANCELED"}})
    again = c.call("UpdateBooking", {"booking": {"booking_id": a, "status": "CANCELED"}})
    assert again.status == 200 and again.body["booking"]["status"] == "CANCELED"
    assert c.call("CheckAvailability", {"slot": slot()}).body["count_available"] == 2


def test_invalid_slot_400(serve: Serve) -> None:
    _, c = serve(invalid_slot="400")
    r = create(c, "a", start=BASE + 5)
    assert r.status == 400 and r.body["error"]["status"] == "INVALID_ARGUMENT"
    ok = create(c, "b")
    assert ok.status == 200


def test_same_user_rebook_allow_and_overlapping(serve: Serve) -> None:
    _, allow = serve(same_user_rebook="allow")
    first = create(allow, "a").body["booking"]["booking_id"]
    second = create(allow, "b").body["booking"]["booking_id"]
    assert first != second
    _, overlap = serve(same_user_rebook="overlapping")
    create(overlap, "a")
    assert create(overlap, "b").body["booking_failure"]["cause"] == "OVERLAPPING_RESERVATION"


def test_health_body_text_and_empty(serve: Serve) -> None:
    _, text = serve(health_body="text")
    r = text.request("/v3/HealthCheck", verb="GET")
    assert r.status == 200 and r.raw == b"200" and r.headers["Content-Type"].startswith("text/plain")
    _, empty = serve(health_body="empty")
    r = empty.request("/v3/HealthCheck", verb="GET")
    assert r.status == 200 and r.raw == b""


def test_unknown_method_501(serve: Serve) -> None:
    _, c = serve(unknown_method_status=501)
    r = c.call("CreateOrder", {})
    assert r.status == 501 and r.body["error"]["status"] == "UNIMPLEMENTED"
    assert c.request("/v3/CreateBooking", verb="GET").status == 405
