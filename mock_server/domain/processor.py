"""The simulated payment processor of the reference server (D52): deterministic, no gateway, no network.

It answers two questions and keeps one book:

- :meth:`Processor.authorize`: may this card pay this merchant now? The steps of D52 after the token has
  been read, in order: single use (a fingerprint already charged) → network accepted by the merchant (D37)
  → 3DS1 (D38; skipped when the request carries ``pa_response``, which is then verified) → outcome by the
  last four digits. It returns a :class:`~.model.Failure` or ``None``, and changes nothing except that an
  issued 3DS1 challenge is remembered so that its retry can be verified (not a side effect of the booking:
  no money, spot or idempotency record).
- :meth:`Processor.record`: the booking was committed; write the ledger entry (charge, hold, card on file)
  and spend the token's fingerprint. Refunds and voids come later, from a cancel.

Identifiers are derived, never random, so that snapshots and replays compare byte for byte:
``bc_pay_`` / ``bc_hold_`` / ``bc_cof_`` / ``bc_ref_`` / ``bc_void_`` + the first 16 hex digits of
SHA-256(merchant_id | idempotency_token) (:func:`booking_key`). The processor is not thread-safe on its own:
the booking service calls it under its lock.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .model import Failure, FailureCause
from .tokens import Card

#: ledger entry kind → id prefix
PREFIXES = {
    "charge": "bc_pay_",
    "hold": "bc_hold_",
    "card_on_file": "bc_cof_",
    "refund": "bc_ref_",
    "void": "bc_void_",
}

THREEDS_PASS = "bookcheck-3ds1:pass"
THREEDS_FAIL = "bookcheck-3ds1:fail"

#: last four digits → (cause, description); every other card is approved (Stripe's test numbers, D52)
_OUTCOMES: dict[str, tuple[FailureCause, str]] = {
    "0002": (FailureCause.PAYMENT_ERROR_CARD_DECLINED, "generic decline"),
    "9995": (FailureCause.PAYMENT_ERROR_CARD_DECLINED, "insufficient funds"),
    "0119": (FailureCause.PAYMENT_ERROR, "processing error"),
}
#: the card that asks for 3DS1 on its first attempt
THREEDS_LAST4 = "3063"


def booking_key(merchant_id: str, idempotency_token: str) -> str:
    """The 16 hex digits every processor id of one CreateBooking ends with."""
    return hashlib.sha256(f"{merchant_id}|{idempotency_token}".encode()).hexdigest()[:16]


def processor_id(kind: str, key: str) -> str:
    """``bc_pay_<key>`` etc. for a ledger entry ``kind`` (see :data:`PREFIXES`)."""
    return PREFIXES[kind] + key


def threeds1_parameters(key: str) -> dict[str, str]:
    """The ThreeDS1Parameters issued for a booking key (D38): all four set, ``acs_url`` absolute https."""
    return {
        "acs_url": f"https://acs.bookcheck.invalid/3ds1/{key}",
        "pa_req": base64.b64encode(f"bookcheck-pareq:{key}".encode()).decode("ascii"),
        "transaction_id": f"bc_3ds_{key}",
        "md_merchant_data": f"bc_md_{key}",
    }


@dataclass(slots=True)
class _Challenge:
    merchant_id: str
    key: str
    completed: bool = False


class Processor:
    """Authorisations, the single-use fingerprints, the issued 3DS1 challenges and the ledger."""

    def __init__(self) -> None:
        self._ledger: list[dict[str, Any]] = []
        self._spent: dict[str, str] = {}  # fingerprint -> the transaction id that used it
        self._challenges: dict[str, _Challenge] = {}  # md_merchant_data -> challenge

    # -- deciding -----------------------------------------------------------------------------------------

    def authorize(
        self, card: Card, accepted: tuple[str, ...], merchant_id: str, key: str, payment: Mapping[str, Any]
    ) -> Failure | None:
        """The D52 steps from "single use" to "outcome by last four digits"; ``None`` = approved."""
        if card.fingerprint in self._spent:
            return Failure(FailureCause.PAYMENT_ERROR, "payment token already used")
        if card.card_type not in accepted:
            return Failure(
                FailureCause.PAYMENT_ERROR_CARD_TYPE_REJECTED,
                f"the merchant does not accept {card.network} cards",
                rejected_card_type=card.card_type,
            )
        pa_response = payment.get("pa_response")
        if pa_response:
            failure = self._verify_3ds1(
                str(pa_response), str(payment.get("md_merchant_data") or ""), merchant_id
            )
            if failure is not None:
                return failure
        elif card.last4 == THREEDS_LAST4:
            return self._challenge(merchant_id, key)
        outcome = _OUTCOMES.get(card.last4)
        return Failure(outcome[0], outcome[1]) if outcome else None

    def _challenge(self, merchant_id: str, key: str) -> Failure:
        params = threeds1_parameters(key)
        self._challenges.setdefault(params["md_merchant_data"], _Challenge(merchant_id, key))
        return Failure(
            FailureCause.PAYMENT_REQUIRES_3DS1, "the issuer asks for 3-D Secure 1", threeds1=params
        )

    def _verify_3ds1(self, pa_response: str, md: str, merchant_id: str) -> Failure | None:
        challenge = self._challenges.get(md)
        if challenge is None or challenge.merchant_id != merchant_id:
            return Failure(FailureCause.PAYMENT_ERROR, "unknown 3DS1 transaction")
        if challenge.completed:
            return Failure(FailureCause.PAYMENT_ERROR, "the 3DS1 transaction was already completed")
        if pa_response == THREEDS_FAIL:
            return Failure(FailureCause.PAYMENT_ERROR_CARD_DECLINED, "3-D Secure authentication failed")
        if pa_response != THREEDS_PASS:
            return Failure(FailureCause.PAYMENT_ERROR, "unusable 3DS1 response")
        return None

    # -- committing ---------------------------------------------------------------------------------------

    def record(
        self,
        kind: str,
        key: str,
        *,
        merchant_id: str,
        booking_id: str,
        amount_micros: int,
        currency: str,
        fingerprint: str = "",
        at: float,
        md_merchant_data: str = "",
    ) -> str:
        """Write one ledger entry and return its id; spends ``fingerprint`` and completes a 3DS1 challenge."""
        entry_id = processor_id(kind, key)
        self._ledger.append(
            {
                "id": entry_id,
                "kind": kind,
                "merchant_id": merchant_id,
                "amount_micros": amount_micros,
                "currency": currency,
                "booking_id": booking_id,
                "token_fingerprint": fingerprint,
                "at": round(at, 3),
            }
        )
        if fingerprint:
            self._spent[fingerprint] = entry_id
        challenge = self._challenges.get(md_merchant_data) if md_merchant_data else None
        if challenge is not None:
            challenge.completed = True
        return entry_id

    def ledger(self, merchant_id: str | None = None) -> list[dict[str, Any]]:
        """Copies of the entries in the order they were written (one merchant's, or all)."""
        return [dict(e) for e in self._ledger if merchant_id is None or e["merchant_id"] == merchant_id]
