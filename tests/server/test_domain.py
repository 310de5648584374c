"""Domain unit tests: BookingService with a fake clock, no transport."""

from __future__ import annotations

import threading

import pytest

from mock_server.domain import (
    BookingService,
    BookingStatus,
    ConfirmationMode,
    CreateBookingCommand,
    CreateLeaseCommand,
    DomainConfig,
    DuplicateSlot,
    FailureCause,
    FakeClock,
    InvalidArgument,
    Inventory,
    NotFound,
    SequentialIds,
    SlotQuery,
    UpdateBookingCommand,
    UserInfo,
)

NOW = 1_800_000_000
T = NOW + 86_400  # a slot start one day ahead


def make(config: DomainConfig | None = None) -> tuple[BookingService, FakeClock]:
    inv = Inventory()
    inv.add("m1", "s1", T, 3600, spots_total=2, spots_open=2)
    inv.add("m1", "s1", T + 3600, 3600, spots_total=1, spots_open=1)
    inv.add("m1", "dine", T, 5400, spots_total=1, spots_open=1, party_size=2)
    inv.add("m1", "dine", T, 5400, spots_total=1, spots_open=1, party_size=4)
    inv.add(
        "m1",
        "async",
        T,
        3600,
        spots_total=1,
        spots_open=1,
        confirmation_mode=ConfirmationMode.CONFIRMATION_MODE_ASYNCHRONOUS,
    )
    clock = FakeClock(NOW)
    svc = BookingService(
        inv, config=config, clock=clock, booking_ids=SequentialIds("b"), lease_ids=SequentialIds("l")
    )
    return svc, clock


def q(service: str = "s1", start: int = T, duration: int | None = 3600, party: int = 0) -> SlotQuery:
    return SlotQuery("m1", service, start, duration, party_size=party)


def spots(
    svc: BookingService, service: str = "s1", start: int = T, duration: int = 3600, party: int = 0
) -> int:
    slot = svc.inventory.exact(("m1", service, start, duration, "", "", party))
    assert slot is not None
    return slot.spots_open


def test_duplicate_feed_slot_is_refused() -> None:
    inv = Inventory()
    inv.add("m", "s", 1, 60, spots_total=1, spots_open=1)
    with pytest.raises(DuplicateSlot):
        inv.add("m", "s", 1, 60, spots_total=1, spots_open=1)


def test_book_until_full_then_slot_unavailable() -> None:
    svc, _ = make()
    r1, r2, r3 = (svc.create_booking(CreateBookingCommand(q(), UserInfo(f"u{i}"), f"t{i}")) for i in range(3))
    assert r1.booking and r1.booking.status is BookingStatus.CONFIRMED
    assert r2.booking and r2.booking.booking_id != r1.booking.booking_id
    assert r3.failure and r3.failure.cause is FailureCause.SLOT_UNAVAILABLE and r3.booking is None
    assert spots(svc) == 0


def test_idempotent_replay_returns_same_booking_and_uses_capacity_once() -> None:
    svc, _ = make()
    a = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "tok"))
    b = svc.create_booking(CreateBookingCommand(q(start=T + 3600), UserInfo("u9"), "tok"))
    assert a.booking and b.booking and a.booking.booking_id == b.booking.booking_id
    assert spots(svc) == 1 and spots(svc, start=T + 3600) == 1


def test_failure_is_not_cached_under_token() -> None:
    svc, _ = make()
    first = svc.create_booking(CreateBookingCommand(q(start=T + 3600), UserInfo("u1"), "x"))
    assert first.booking
    failed = svc.create_booking(CreateBookingCommand(q(start=T + 3600), UserInfo("u2"), "y"))
    assert failed.failure and failed.failure.cause is FailureCause.SLOT_UNAVAILABLE
    assert svc.update_booking(UpdateBookingCommand(first.booking.booking_id, BookingStatus.CANCELED)).booking
    retried = svc.create_booking(CreateBookingCommand(q(start=T + 3600), UserInfo("u2"), "y"))
    assert retried.booking and retried.booking.user.user_id == "u2"


@pytest.mark.parametrize(
    ("mode", "cause"),
    [
        ("reject", FailureCause.SLOT_ALREADY_BOOKED_BY_USER),
        ("overlapping", FailureCause.OVERLAPPING_RESERVATION),
        ("allow", None),
    ],
)
def test_same_user_rebook_modes(mode: str, cause: FailureCause | None) -> None:
    svc, _ = make(DomainConfig(same_user_rebook=mode))  # type: ignore[arg-type]
    first = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "a"))
    second = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "b"))
    if cause is None:
        assert first.booking and second.booking and second.booking.booking_id != first.booking.booking_id
    else:
        assert second.failure and second.failure.cause is cause


def test_required_fields_and_unknown_merchant() -> None:
    svc, _ = make()
    with pytest.raises(InvalidArgument, match="slot.duration_sec"):
        svc.create_booking(CreateBookingCommand(q(duration=None), UserInfo("u"), "t"))
    with pytest.raises(InvalidArgument, match="idempotency_token"):
        svc.create_booking(CreateBookingCommand(q(), UserInfo("u"), None))
    with pytest.raises(InvalidArgument, match="user_information"):
        svc.create_booking(CreateBookingCommand(q(), None, "t"))
    with pytest.raises(InvalidArgument, match="merchant"):
        svc.create_booking(CreateBookingCommand(SlotQuery("nope", "s1", T, 3600), UserInfo("u"), "t"))
    r = svc.create_booking(CreateBookingCommand(q(start=T + 7), UserInfo("u"), "t"))
    assert r.failure and r.failure.cause is FailureCause.SLOT_UNAVAILABLE


def test_invalid_slot_option_400() -> None:
    svc, _ = make(DomainConfig(invalid_slot="400"))
    with pytest.raises(InvalidArgument):
        svc.create_booking(CreateBookingCommand(q(start=T + 7), UserInfo("u"), "t"))


def test_cancel_recancel_and_window() -> None:
    svc, clock = make(DomainConfig(cancel_cutoff_sec=3600))
    b = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "t")).booking
    assert b
    c = svc.update_booking(UpdateBookingCommand(b.booking_id, BookingStatus.CANCELED))
    assert c.booking and c.booking.status is BookingStatus.CANCELED and spots(svc) == 2
    again = svc.update_booking(UpdateBookingCommand(b.booking_id, BookingStatus.CANCELED))
    assert again.failure and again.failure.cause is FailureCause.BOOKING_ALREADY_CANCELLED
    late = svc.create_booking(CreateBookingCommand(q(), UserInfo("u2"), "t2")).booking
    assert late
    clock.advance(86_400 - 3600)  # exactly at the cutoff
    out = svc.update_booking(UpdateBookingCommand(late.booking_id, BookingStatus.CANCELED))
    assert out.failure and out.failure.cause is FailureCause.OUTSIDE_CANCELLATION_WINDOW
    assert svc.get_booking(late.booking_id).status is BookingStatus.CONFIRMED


def test_recancel_echo_option() -> None:
    svc, _ = make(DomainConfig(recancel="echo"))
    b = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "t")).booking
    assert b
    svc.update_booking(UpdateBookingCommand(b.booking_id, BookingStatus.CANCELED))
    again = svc.update_booking(UpdateBookingCommand(b.booking_id, BookingStatus.CANCELED))
    assert again.booking and again.booking.status is BookingStatus.CANCELED and spots(svc) == 2


def test_unknown_booking_is_not_found() -> None:
    svc, _ = make()
    with pytest.raises(NotFound):
        svc.update_booking(UpdateBookingCommand("zzz", BookingStatus.CANCELED))
    with pytest.raises(NotFound):
        svc.get_booking("zzz")


def test_reschedule_moves_capacity_and_full_slot_changes_nothing() -> None:
    svc, _ = make()
    b = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "t")).booking
    assert b
    moved = svc.update_booking(UpdateBookingCommand(b.booking_id, start_sec=T + 3600))
    assert (
        moved.booking
        and moved.booking.booking_id == b.booking_id
        and moved.booking.slot.start_sec == T + 3600
    )
    assert spots(svc) == 2 and spots(svc, start=T + 3600) == 0
    repeat = svc.update_booking(UpdateBookingCommand(b.booking_id, start_sec=T + 3600))
    assert repeat.booking and spots(svc, start=T + 3600) == 0
    other = svc.create_booking(CreateBookingCommand(q(), UserInfo("u2"), "t2")).booking
    assert other
    full = svc.update_booking(UpdateBookingCommand(other.booking_id, start_sec=T + 3600))
    assert full.failure and full.failure.cause is FailureCause.SLOT_UNAVAILABLE
    assert svc.get_booking(other.booking_id).slot.start_sec == T and spots(svc) == 1
    nowhere = svc.update_booking(UpdateBookingCommand(other.booking_id, start_sec=T + 5))
    assert nowhere.failure and nowhere.failure.cause is FailureCause.SLOT_UNAVAILABLE
    with pytest.raises(InvalidArgument, match="service_id"):
        svc.update_booking(UpdateBookingCommand(other.booking_id, start_sec=T + 3600, service_id="dine"))


def test_party_size_change_and_cancelled_cannot_be_modified() -> None:
    svc, _ = make()
    b = svc.create_booking(
        CreateBookingCommand(q("dine", duration=5400, party=2), UserInfo("u1"), "t")
    ).booking
    assert b and b.slot.party_size == 2
    moved = svc.update_booking(UpdateBookingCommand(b.booking_id, party_size=4))
    assert moved.booking and moved.booking.slot.party_size == 4
    assert spots(svc, "dine", duration=5400, party=2) == 1 and spots(svc, "dine", duration=5400, party=4) == 0
    svc.update_booking(UpdateBookingCommand(b.booking_id, BookingStatus.CANCELED))
    again = svc.update_booking(UpdateBookingCommand(b.booking_id, party_size=2))
    assert again.failure and again.failure.cause is FailureCause.BOOKING_ALREADY_CANCELLED


@pytest.mark.parametrize(
    ("outcome", "final", "freed"),
    [("confirmed", BookingStatus.CONFIRMED, 0), ("declined", BookingStatus.DECLINED_BY_MERCHANT, 1)],
)
def test_async_confirmation_is_lazy_on_the_clock(outcome: str, final: BookingStatus, freed: int) -> None:
    svc, clock = make(DomainConfig(async_confirm_after_sec=5, async_outcome=outcome))  # type: ignore[arg-type]
    b = svc.create_booking(CreateBookingCommand(q("async"), UserInfo("u1"), "t")).booking
    assert b and b.status is BookingStatus.PENDING_MERCHANT_CONFIRMATION
    clock.advance(4.9)
    assert svc.get_booking(b.booking_id).status is BookingStatus.PENDING_MERCHANT_CONFIRMATION
    clock.advance(0.1)
    assert svc.list_bookings("u1")[0].status is final
    assert spots(svc, "async") == freed


def test_lease_holds_expires_and_is_consumed() -> None:
    svc, clock = make(DomainConfig(lease_ttl_sec=60))
    slot = q(start=T + 3600)
    lease = svc.create_lease(CreateLeaseCommand(slot, "ref1", NOW + 10_000)).lease
    assert lease and lease.expires_sec == NOW + 60  # shortened to the TTL
    assert svc.create_lease(CreateLeaseCommand(slot, "ref1")).lease == lease  # idempotent on user_reference
    blocked = svc.create_booking(CreateBookingCommand(slot, UserInfo("other"), "t0"))
    assert blocked.failure and blocked.failure.cause is FailureCause.SLOT_UNAVAILABLE
    assert svc.batch_availability([slot]) == [False]
    clock.advance(60)
    assert svc.batch_availability([slot]) == [True]  # expired: the spot is back
    late = svc.create_booking(CreateBookingCommand(slot, UserInfo("u1"), "t1", lease_id=lease.lease_id))
    assert late.failure and late.failure.cause is FailureCause.LEASE_EXPIRED
    fresh = svc.create_lease(CreateLeaseCommand(slot, "ref2")).lease
    assert fresh
    mismatch = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "t2", lease_id=fresh.lease_id))
    assert mismatch.failure and mismatch.failure.cause is FailureCause.SLOT_UNAVAILABLE
    ok = svc.create_booking(CreateBookingCommand(slot, UserInfo("u1"), "t3", lease_id=fresh.lease_id))
    assert ok.booking and spots(svc, start=T + 3600) == 0
    clock.advance(600)  # a consumed lease never gives its spot back
    assert spots(svc, start=T + 3600) == 0
    reuse = svc.create_booking(CreateBookingCommand(slot, UserInfo("u2"), "t4", lease_id=fresh.lease_id))
    assert reuse.failure and reuse.failure.cause is FailureCause.LEASE_EXPIRED
    with pytest.raises(NotFound):
        svc.create_booking(CreateBookingCommand(slot, UserInfo("u1"), "t5", lease_id="nope"))


def test_list_bookings_all_vs_active() -> None:
    for mode, expected in (("all", 2), ("active", 1)):
        svc, _ = make(DomainConfig(list_bookings=mode))  # type: ignore[arg-type]
        a = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "a")).booking
        svc.create_booking(CreateBookingCommand(q(start=T + 3600), UserInfo("u1"), "b"))
        assert a
        svc.update_booking(UpdateBookingCommand(a.booking_id, BookingStatus.CANCELED))
        assert len(svc.list_bookings("u1")) == expected
        assert svc.list_bookings("stranger") == []


def test_capacity_never_exceeded_across_threads() -> None:
    inv = Inventory()
    inv.add("m", "s", T, 60, spots_total=3, spots_open=3)
    svc = BookingService(inv, clock=FakeClock(NOW))
    results: list[object] = []
    barrier = threading.Barrier(16)

    def worker(i: int) -> None:
        barrier.wait(timeout=10)
        for j in range(4):
            results.append(
                svc.create_booking(
                    CreateBookingCommand(SlotQuery("m", "s", T, 60), UserInfo(f"u{i}-{j}"), f"t{i}-{j}")
                )
            )

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    booked = [r for r in results if r.booking]  # type: ignore[attr-defined]
    assert len(results) == 64 and len(booked) == 3
    assert inv.exact(("m", "s", T, 60, "", "", 0)).spots_open == 0  # type: ignore[union-attr]


def test_started_slots_are_never_bookable() -> None:
    svc, clock = make(DomainConfig(lease_ttl_sec=60))
    b = svc.create_booking(CreateBookingCommand(q(), UserInfo("u1"), "t")).booking
    assert b
    clock.advance(86_400)  # the slot at T starts now
    assert svc.batch_availability([q(), q(start=T + 3600)]) == [False, True]
    assert svc.check_availability(q()) == 0
    late = svc.create_booking(CreateBookingCommand(q(), UserInfo("u2"), "t2"))
    assert late.failure and late.failure.description == "the slot has already started"
    lease = svc.create_lease(CreateLeaseCommand(q(), "r"))
    assert lease.failure and lease.failure.cause is FailureCause.SLOT_UNAVAILABLE
    other = svc.create_booking(CreateBookingCommand(q(start=T + 3600), UserInfo("u3"), "t3")).booking
    assert other
    back = svc.update_booking(UpdateBookingCommand(other.booking_id, start_sec=T))
    assert back.failure and back.failure.cause is FailureCause.SLOT_UNAVAILABLE
