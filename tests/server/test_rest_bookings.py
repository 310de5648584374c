"""§11 column 2 over real HTTP: availability, bookings, idempotency, cancel, reschedule, status, lists."""

from __future__ import annotations

from srvhelpers import BASE, Client, H, Serve, available, create, slot, user


def test_health_check(client: Client) -> None:
    r = client.request("/v3/HealthCheck", verb="GET")
    assert r.status == 200 and r.body == {"status": "SERVING"}
    assert r.headers["Content-Type"].startswith("application/json")


def test_paths_accept_trailing_slash_and_any_case(client: Client) -> None:
    for path in ("/v3/healthcheck", "/v3/HealthCheck/", "/V3/HEALTHCHECK"):
        assert client.request(path, verb="GET").status == 200
    r = client.request("/v3/listbookings/", {"user_id": "nobody"})
    assert r.status == 200 and r.body == {"bookings": []}


def test_create_booking_echoes_slot_and_user(client: Client) -> None:
    pay = {"prepayment_status": "PREPAYMENT_NOT_PROVIDED"}
    r = client.call(
        "CreateBooking",
        {
            "slot": slot(),
            "user_information": user(),
            "idempotency_token": "t1",
            "payment_information": pay,
            "offer_id": "o1",
        },
    )
    assert r.status == 200
    b = r.body["booking"]
    assert "booking_failure" not in r.body and b["booking_id"]
    assert b["status"] == "CONFIRMED"
    assert b["slot"] == {
        "merchant_id": "m1",
        "service_id": "s1",
        "start_sec": str(BASE),
        "duration_sec": str(H),
        "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
    }
    assert b["user_information"] == user()
    assert b["payment_information"] == pay and b["offer_info"] == {"offer_id": "o1"}


def test_create_booking_accepts_camel_case_and_numbers(client: Client) -> None:
    r = client.call(
        "CreateBooking",
        {
            "slot": {"merchantId": "m1", "serviceId": "s1", "startSec": BASE + 2 * H, "durationSec": H},
            "userInformation": {"userId": "u7", "givenName": "Bo"},
            "idempotencyToken": "camel",
        },
    )
    assert r.status == 200, r.body
    b = r.body["booking"]
    assert b["slot"]["resources"] == {"staff_id": "st1"} and b["slot"]["availability_tag"] == "tag3"
    assert b["user_information"] == {"user_id": "u7", "given_name": "Bo"}


def test_fill_up_then_slot_unavailable_and_bal_false(client: Client) -> None:
    assert available(client)
    assert create(client, "a", "u1").body["booking"]
    assert create(client, "b", "u2").body["booking"]
    r = create(client, "c", "u3")
    assert r.status == 200 and r.body == {
        "booking_failure": {"cause": "SLOT_UNAVAILABLE", "description": "no spot left"}
    }
    assert not available(client)


def test_idempotent_replay_and_failures_not_cached(client: Client) -> None:
    first = create(client, "tok", "u1", start=BASE + H)
    replay = create(client, "tok", "u1", start=BASE + H)
    assert replay.body == first.body
    failed = create(client, "tok2", "u2", start=BASE + H)
    assert failed.body["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    bid = first.body["booking"]["booking_id"]
    assert client.call("UpdateBooking", {"booking": {"booking_id": bid, "status": "CANCELED"}}).status == 200
    retried = create(client, "tok2", "u2", start=BASE + H)
    assert retried.body["booking"]["user_information"]["user_id"] == "u2"  # D11: tried again


def test_same_user_same_slot_new_token(client: Client) -> None:
    create(client, "a", "u1")
    r = create(client, "b", "u1")
    assert r.body["booking_failure"]["cause"] == "SLOT_ALREADY_BOOKED_BY_USER"


def test_unknown_merchant_is_400_and_unknown_slot_is_unavailable(client: Client) -> None:
    r = create(client, "x", merchant="nope")
    assert r.status == 400 and r.body["error"]["status"] == "INVALID_ARGUMENT"
    assert "merchant" in r.body["error"]["message"]
    r = create(client, "y", start=BASE + 17)
    assert r.status == 200 and r.body["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"


def test_bal_one_entry_per_slot_time_in_order_echoed(client: Client) -> None:
    times = [
        {"service_id": "s1", "start_sec": str(BASE + H)},
        {"serviceId": "dine", "startSec": BASE, "resourceIds": {"partySize": 4}},
        {"service_id": "s1", "start_sec": "5", "duration_sec": "60"},
        {"service_id": "s1", "start_sec": str(BASE + 2 * H), "availability_tag": "other"},
        {"service_id": "s1", "start_sec": str(BASE + H)},
        {"service_id": "s9", "start_sec": str(BASE)},
    ]
    r = client.call("BatchAvailabilityLookup", {"merchant_id": "m1", "slot_time": times})
    assert r.status == 200
    got = r.body["slot_time_availability"]
    assert [e["available"] for e in got] == [True, True, False, False, True, False]
    assert got[1]["slot_time"] == {
        "service_id": "dine",
        "start_sec": str(BASE),
        "resource_ids": {"party_size": 4},
    }
    assert got[2]["slot_time"] == {"service_id": "s1", "start_sec": "5", "duration_sec": "60"}
    assert client.call("BatchAvailabilityLookup", {"merchant_id": "zzz", "slot_time": times[:1]}).body == {
        "slot_time_availability": [{"slot_time": times[0], "available": False}]
    }


def test_check_availability(client: Client) -> None:
    r = client.call("CheckAvailability", {"slot": slot()})
    assert r.status == 200 and r.body["count_available"] == 2 and r.body["slot"] == slot()
    create(client, "a")
    assert client.call("CheckAvailability", {"slot": slot()}).body["count_available"] == 1
    assert client.call("CheckAvailability", {"slot": slot(merchant="zz")}).status == 400


def test_get_status_list_and_cancel(client: Client) -> None:
    bid = create(client, "a", "u1").body["booking"]["booking_id"]
    st = client.call("GetBookingStatus", {"booking_id": bid})
    assert st.body == {
        "booking_id": bid,
        "booking_status": "CONFIRMED",
        "prepayment_status": "PREPAYMENT_NOT_PROVIDED",
    }
    c = client.call("UpdateBooking", {"booking": {"booking_id": bid, "status": "CANCELED"}})
    assert (
        c.status == 200
        and c.body["booking"]["status"] == "CANCELED"
        and c.body["booking"]["booking_id"] == bid
    )
    again = client.call("UpdateBooking", {"booking": {"booking_id": bid, "status": "CANCELED"}})
    assert again.body == {
        "booking_failure": {
            "cause": "BOOKING_ALREADY_CANCELLED",
            "description": "the booking is already cancelled",
        }
    }
    assert client.call("GetBookingStatus", {"booking_id": bid}).body["booking_status"] == "CANCELED"
    listed = client.call("ListBookings", {"user_id": "u1"}).body["bookings"]
    assert [(b["booking_id"], b["status"]) for b in listed] == [(bid, "CANCELED")]
    assert client.call("ListBookings", {"user_id": "u2"}).body == {"bookings": []}
    assert client.call("GetBookingStatus", {"booking_id": "nope"}).status == 404
    assert (
        client.call("UpdateBooking", {"booking": {"booking_id": "nope", "status": "CANCELED"}}).status == 404
    )


def test_reschedule_keeps_id_and_moves_capacity(client: Client) -> None:
    bid = create(client, "a", "u1").body["booking"]["booking_id"]
    r = client.call(
        "UpdateBooking",
        {"booking": {"booking_id": bid, "slot": {"start_sec": str(BASE + H), "duration_sec": str(H)}}},
    )
    assert r.status == 200
    b = r.body["booking"]
    assert b["booking_id"] == bid and b["slot"]["start_sec"] == str(BASE + H) and b["status"] == "CONFIRMED"
    assert b["slot"]["merchant_id"] == "m1" and b["slot"]["service_id"] == "s1"
    assert b["user_information"]["user_id"] == "u1"
    assert not available(client, BASE + H)
    other = create(client, "b", "u2").body["booking"]["booking_id"]
    full = client.call("UpdateBooking", {"booking": {"booking_id": other, "slot": {"start_sec": BASE + H}}})
    assert full.body["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    assert client.call("ListBookings", {"user_id": "u2"}).body["bookings"][0]["slot"]["start_sec"] == str(
        BASE
    )


def test_party_size_change(client: Client) -> None:
    r = client.call(
        "CreateBooking",
        {
            "slot": slot("dine", duration=5400, resources={"party_size": 2}),
            "user_information": user(),
            "idempotency_token": "d",
        },
    )
    bid = r.body["booking"]["booking_id"]
    moved = client.call(
        "UpdateBooking", {"booking": {"booking_id": bid, "slot": {"resources": {"party_size": 4}}}}
    )
    assert moved.body["booking"]["slot"]["resources"] == {"party_size": 4}
    assert available(client, service="dine", resource_ids={"party_size": 2})
    assert not available(client, service="dine", resource_ids={"party_size": 4})


def test_leases(serve: Serve) -> None:
    _, c = serve(lease_ttl_sec=600)
    lease_req = {
        "lease": {
            "slot": slot(start=BASE + H),
            "user_reference": "ref-1",
            "lease_expiration_time_sec": str(BASE + 10 * H),
        }
    }
    r = c.call("CreateLease", lease_req)
    assert r.status == 200
    lease = r.body["lease"]
    assert lease["lease_id"] and lease["user_reference"] == "ref-1"
    assert int(lease["lease_expiration_time_sec"]) <= BASE  # shortened to now + 600
    assert c.call("CreateLease", lease_req).body == r.body  # user_reference is the idempotency key
    assert not available(c, BASE + H)
    blocked = create(c, "x", "u2", start=BASE + H)
    assert blocked.body["booking_failure"]["cause"] == "SLOT_UNAVAILABLE"
    b = c.call(
        "CreateBooking",
        {
            "slot": slot(start=BASE + H),
            "lease_ref": {"lease_id": lease["lease_id"]},
            "user_information": user(),
            "idempotency_token": "y",
        },
    )
    assert b.body["booking"]["slot"]["start_sec"] == str(BASE + H)
    unknown = c.call(
        "CreateBooking",
        {
            "slot": slot(),
            "lease_ref": {"lease_id": "nope"},
            "user_information": user(),
            "idempotency_token": "z",
        },
    )
    assert unknown.status == 404 and unknown.body["error"]["status"] == "NOT_FOUND"


def test_expired_lease_frees_spot_and_books_lease_expired(serve: Serve, clock: object) -> None:
    _, c = serve(clock=clock)
    r = c.call(
        "CreateLease",
        {
            "lease": {
                "slot": slot(start=BASE + H),
                "user_reference": "r",
                "lease_expiration_time_sec": int(clock.now) + 30,
            }
        },
    )  # type: ignore[attr-defined]
    lease_id = r.body["lease"]["lease_id"]
    assert not available(c, BASE + H)
    clock.advance(31)  # type: ignore[attr-defined]
    assert available(c, BASE + H)
    late = c.call(
        "CreateBooking",
        {
            "slot": slot(start=BASE + H),
            "lease_ref": {"lease_id": lease_id},
            "user_information": user(),
            "idempotency_token": "late",
        },
    )
    assert late.body["booking_failure"]["cause"] == "LEASE_EXPIRED"


def test_async_booking_pending_then_confirmed(serve: Serve, clock: object) -> None:
    _, c = serve(clock=clock, async_confirm_after_sec=5)
    b = create(c, "a", service="async").body["booking"]
    assert b["status"] == "PENDING_MERCHANT_CONFIRMATION"
    assert b["slot"]["confirmation_mode"] == "CONFIRMATION_MODE_ASYNCHRONOUS"
    clock.advance(5)  # type: ignore[attr-defined]
    st = c.call("GetBookingStatus", {"booking_id": b["booking_id"]}).body
    assert st["booking_status"] == "CONFIRMED"
    assert c.call("ListBookings", {"user_id": "u1"}).body["bookings"][0]["status"] == "CONFIRMED"


def test_async_declined_frees_the_spot(serve: Serve, clock: object) -> None:
    _, c = serve(clock=clock, async_confirm_after_sec=5, async_outcome="declined")
    b = create(c, "a", service="async").body["booking"]
    assert not available(c, service="async")
    clock.advance(6)  # type: ignore[attr-defined]
    assert (
        c.call("GetBookingStatus", {"booking_id": b["booking_id"]}).body["booking_status"]
        == "DECLINED_BY_MERCHANT"
    )
    assert available(c, service="async")


def test_cancel_cutoff(serve: Serve) -> None:
    _, c = serve(cancel_cutoff_sec=2 * 86_400)
    bid = create(c, "a").body["booking"]["booking_id"]
    r = c.call("UpdateBooking", {"booking": {"booking_id": bid, "status": "CANCELED"}})
    assert r.body["booking_failure"]["cause"] == "OUTSIDE_CANCELLATION_WINDOW"
    assert c.call("GetBookingStatus", {"booking_id": bid}).body["booking_status"] == "CONFIRMED"
