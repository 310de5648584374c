"""Canonical message dicts (see :mod:`.codec`) <-> domain commands and results.

One small function per message; the REST handlers chain ``decode -> to_* -> app.call -> *_out -> encode``.
Missing required fields become ``None`` (the domain names them in its error); the echo rules live here:
a booking echoes its inventory slot (merchant, service, start, duration, tag, resources, confirmation mode),
the user information, the payment information the domain reports (as received when nothing is charged),
``virtual_session_info`` for an online service and ``offer_info`` when an offer was applied. A failure
carries its ``rejected_card_type`` and 3DS1 parameters when the domain gives them (§2.5, D37, D38).
"""

from __future__ import annotations

from typing import Any

from mock_server.domain import (
    BookingStatus,
    BookingView,
    CreateBookingCommand,
    CreateLeaseCommand,
    Failure,
    InventorySlot,
    LeaseView,
    PostalAddress,
    SlotQuery,
    UpdateBookingCommand,
    UserInfo,
)
from mock_server.paytoken import decode_payment_token

_EMPTY: dict[str, Any] = {}


def slot_query(
    slot: dict[str, Any] | None, merchant_id: str | None = None, resources_key: str = "resources"
) -> SlotQuery | None:
    """A Slot (or, with ``merchant_id`` and ``resources_key="resource_ids"``, a SlotTime) as a query."""
    if slot is None:
        return None
    res = slot.get(resources_key) or _EMPTY
    return SlotQuery(
        merchant_id=slot.get("merchant_id") or merchant_id or None,
        service_id=slot.get("service_id") or None,
        start_sec=slot.get("start_sec"),
        duration_sec=slot.get("duration_sec"),
        availability_tag=slot.get("availability_tag", ""),
        staff_id=res.get("staff_id", ""),
        room_id=res.get("room_id", ""),
        party_size=res.get("party_size", 0),
    )


def user_info(u: dict[str, Any] | None) -> UserInfo | None:
    if u is None:
        return None
    a = u.get("address")
    return UserInfo(
        user_id=u.get("user_id", ""),
        given_name=u.get("given_name", ""),
        family_name=u.get("family_name", ""),
        telephone=u.get("telephone", ""),
        email=u.get("email", ""),
        language_code=u.get("language_code", ""),
        address=PostalAddress(**a) if a else None,
    )


def create_booking_command(req: dict[str, Any]) -> CreateBookingCommand:
    lease_ref = req.get("lease_ref")
    return CreateBookingCommand(
        slot=slot_query(req.get("slot")),
        user=user_info(req.get("user_information")),
        idempotency_token=req.get("idempotency_token") or None,
        lease_id=(lease_ref or _EMPTY).get("lease_id") or None,
        payment=req.get("payment_information") or None,
        offer_id=req.get("offer_id", ""),
        payment_processing=decode_payment_token(req.get("payment_processing_parameters")),
    )


def create_lease_command(req: dict[str, Any]) -> CreateLeaseCommand:
    lease = req.get("lease")
    if lease is None:
        return CreateLeaseCommand(slot=None, user_reference=None)
    return CreateLeaseCommand(
        slot=slot_query(lease.get("slot")) if "slot" in lease else None,
        user_reference=lease.get("user_reference") or None,
        expires_sec=lease.get("lease_expiration_time_sec"),
    )


def update_booking_command(req: dict[str, Any]) -> UpdateBookingCommand:
    b = req.get("booking") or _EMPTY
    slot = b.get("slot") or _EMPTY
    res = slot.get("resources") or _EMPTY
    status = b.get("status")
    return UpdateBookingCommand(
        booking_id=b.get("booking_id") or None,
        status=BookingStatus[status] if status and status != "BOOKING_STATUS_UNSPECIFIED" else None,
        start_sec=slot.get("start_sec"),
        duration_sec=slot.get("duration_sec"),
        party_size=res.get("party_size") or None,
        merchant_id=slot.get("merchant_id") or None,
        service_id=slot.get("service_id") or None,
        staff_id=res.get("staff_id") or None,
        room_id=res.get("room_id") or None,
    )


# ----------------------------------------------------------------------------------------------------------
# results -> canonical dicts
# ----------------------------------------------------------------------------------------------------------


def slot_out(s: InventorySlot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "merchant_id": s.merchant_id,
        "service_id": s.service_id,
        "start_sec": s.start_sec,
        "duration_sec": s.duration_sec,
        "confirmation_mode": s.confirmation_mode.name,
    }
    if s.availability_tag:
        out["availability_tag"] = s.availability_tag
    if s.staff_id or s.room_id or s.party_size:
        out["resources"] = {"staff_id": s.staff_id, "room_id": s.room_id, "party_size": s.party_size}
    return out


def user_out(u: UserInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "user_id": u.user_id,
        "given_name": u.given_name,
        "family_name": u.family_name,
        "telephone": u.telephone,
        "email": u.email,
        "language_code": u.language_code,
    }
    a = u.address
    if a is not None:
        out["address"] = {
            "country": a.country,
            "locality": a.locality,
            "region": a.region,
            "postal_code": a.postal_code,
            "street_address": a.street_address,
        }
    return out


def booking_out(b: BookingView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "booking_id": b.booking_id,
        "slot": slot_out(b.slot),
        "user_information": user_out(b.user),
        "status": b.status.name,
    }
    if b.payment:
        out["payment_information"] = b.payment
    if b.virtual_session:
        out["virtual_session_info"] = dict(b.virtual_session)
    if b.offer_id:
        out["offer_info"] = {"offer_id": b.offer_id}
    return out


def failure_out(f: Failure) -> dict[str, Any]:
    """BookingFailure: the cause, the rejected card type (CARD_TYPE_REJECTED, D37), the description and the
    3DS1 parameters (PAYMENT_REQUIRES_3DS1, D38); empty companions are left out (proto3 defaults)."""
    out: dict[str, Any] = {"cause": f.cause.name}
    if f.rejected_card_type:
        out["rejected_card_type"] = f.rejected_card_type
    out["description"] = f.description
    if f.threeds1:
        out["payment_failure"] = {"threeds1_parameters": dict(f.threeds1)}
    return out


def lease_out(lease: LeaseView) -> dict[str, Any]:
    return {
        "lease_id": lease.lease_id,
        "slot": slot_out(lease.slot),
        "user_reference": lease.user_reference,
        "lease_expiration_time_sec": lease.expires_sec,
    }
