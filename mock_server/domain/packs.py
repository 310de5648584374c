"""Packs and memberships the users own (UserPaymentOption, §3.12.6, D42–D45).

An option is bought with a booking (D43), seeded by a fixture (:meth:`PackStore.seed`), used by a booking
(D42) and given a use back when that booking is cancelled (D45). Checks (:meth:`PackStore.check_use`,
:meth:`PackStore.check_buy`) only read; the changes happen when the booking is committed, so a failed
CreateBooking leaves every count as it was (D53).

Ids: ``bc_upo_`` + the first 16 hex digits of SHA-256(user_id | payment_option_id | purchase number), the
purchase number counting the options that user got of that payment option (bought, seeded or credited).
Not thread-safe on its own: the booking service calls it under its lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from booking_protocol.commerce import SINGLE_USE, UNLIMITED_USE, PaymentOptionTerms

from .model import Failure, FailureCause


@dataclass(slots=True)
class UserOption:
    """One UserPaymentOption a user owns (mutable under the service lock)."""

    upo_id: str
    user_id: str
    merchant_id: str
    payment_option_id: str
    type: str
    original_count: int
    current_count: int
    valid_start_sec: int | None = None
    valid_end_sec: int | None = None
    #: the transaction that paid for it (``bc_pay_…``), reported when a booking uses it
    purchase_id: str = ""

    @property
    def unlimited(self) -> bool:
        return self.type == UNLIMITED_USE

    def valid_at(self, sec: float) -> bool:
        return (self.valid_start_sec is None or sec >= self.valid_start_sec) and (
            self.valid_end_sec is None or sec < self.valid_end_sec
        )

    def as_mapping(self) -> dict[str, Any]:
        """The UserPaymentOption in proto field-name form (validity only when it has one)."""
        out: dict[str, Any] = {"user_payment_option_id": self.upo_id}
        if self.valid_start_sec is not None:
            out["valid_start_time_sec"] = self.valid_start_sec
        if self.valid_end_sec is not None:
            out["valid_end_time_sec"] = self.valid_end_sec
        out.update(
            type=self.type,
            original_count=self.original_count,
            current_count=self.current_count,
            payment_option_id=self.payment_option_id,
        )
        return out


def validity(terms: PaymentOptionTerms, now: float) -> tuple[int | None, int | None]:
    """The window a purchase made ``now`` is valid in: ``valid_duration`` from now, else
    ``valid_interval``."""
    if terms.valid_duration_sec:
        return int(now), int(now) + terms.valid_duration_sec
    return terms.valid_start_sec, terms.valid_end_sec


def _not_valid(why: str) -> Failure:
    return Failure(FailureCause.PAYMENT_OPTION_NOT_VALID, why)


def _cannot_use(why: str) -> Failure:
    return Failure(FailureCause.USER_CANNOT_USE_PAYMENT_OPTION, why)


@dataclass(slots=True)
class PackStore:
    """Every user's options, by id and by user."""

    by_id: dict[str, UserOption] = field(default_factory=dict)
    by_user: dict[str, list[UserOption]] = field(default_factory=dict)
    _numbers: dict[tuple[str, str], int] = field(default_factory=dict)

    def _new_id(self, user_id: str, payment_option_id: str) -> str:
        number = self._numbers.get((user_id, payment_option_id), 0) + 1
        self._numbers[(user_id, payment_option_id)] = number
        digest = hashlib.sha256(f"{user_id}|{payment_option_id}|{number}".encode()).hexdigest()[:16]
        return f"bc_upo_{digest}"

    def _add(self, option: UserOption) -> UserOption:
        self.by_id[option.upo_id] = option
        self.by_user.setdefault(option.user_id, []).append(option)
        return option

    def owns_any(self, user_id: str, merchant_id: str, payment_option_id: str = "") -> bool:
        """Whether the user owns (or owned) an option of this merchant (of this payment option, if given)."""
        return any(
            o.merchant_id == merchant_id
            and (not payment_option_id or o.payment_option_id == payment_option_id)
            for o in self.by_user.get(user_id, ())
        )

    # -- creating -----------------------------------------------------------------------------------------

    def create(
        self,
        user_id: str,
        merchant_id: str,
        terms: PaymentOptionTerms,
        now: float,
        *,
        purchase_id: str,
        uses_taken: int = 0,
        upo_id: str = "",
        current_count: int | None = None,
        window: tuple[int | None, int | None] | None = None,
    ) -> UserOption:
        """A new option of ``terms`` for the user: ``original_count = session_count`` (1 for single use),
        minus ``uses_taken`` unless unlimited (D43); ``upo_id``/``current_count``/``window`` as a fixture
        says."""
        original = 1 if terms.type == SINGLE_USE else max(terms.session_count, 1)
        if current_count is None:
            current_count = original if terms.type == UNLIMITED_USE else original - uses_taken
        start, end = window if window is not None else validity(terms, now)
        option = UserOption(
            upo_id or self._new_id(user_id, terms.payment_option_id),
            user_id,
            merchant_id,
            terms.payment_option_id,
            terms.type,
            original,
            current_count,
            start,
            end,
            purchase_id,
        )
        if option.upo_id in self.by_id:
            raise ValueError(f"user payment option {option.upo_id!r} already exists")
        return self._add(option)

    # -- checking (D44) -----------------------------------------------------------------------------------

    def check_use(
        self,
        upo_id: str,
        user_id: str,
        merchant_id: str,
        listed: tuple[str, ...],
        slot_start: int,
        now: float,
    ) -> UserOption | Failure:
        """The option a booking may use, or why not (PAYMENT_OPTION_NOT_VALID / USER_CANNOT_USE_…)."""
        option = self.by_id.get(upo_id)
        if option is None:
            return _not_valid(f"unknown user payment option {upo_id!r}")
        if option.user_id != user_id:
            return _cannot_use("the payment option belongs to another user")
        if option.merchant_id != merchant_id or option.payment_option_id not in listed:
            return _not_valid(f"payment option {option.payment_option_id!r} does not pay for this service")
        if option.valid_end_sec is not None and now >= option.valid_end_sec:
            return _not_valid("the payment option has expired")
        if not option.valid_at(slot_start):
            return _not_valid("the slot is outside the payment option's validity")
        if not option.unlimited and option.current_count <= 0:
            return _not_valid("the payment option has no uses left")
        return option

    def check_buy(
        self,
        terms: PaymentOptionTerms,
        user_id: str,
        merchant_id: str,
        listed: tuple[str, ...],
        slot_start: int,
        now: float,
        *,
        known_to_merchant: bool,
    ) -> Failure | None:
        """Whether the user may buy ``terms`` to pay for a slot starting at ``slot_start``."""
        if terms.payment_option_id not in listed:
            return _not_valid(f"payment option {terms.payment_option_id!r} does not pay for this service")
        start, end = validity(terms, now)
        if end is not None and (now >= end or slot_start >= end) or start is not None and slot_start < start:
            return _not_valid("the slot is outside the payment option's validity")
        if terms.new_to_merchant and (known_to_merchant or self.owns_any(user_id, merchant_id)):
            return _cannot_use("only users new to the merchant may buy this payment option")
        if terms.new_to_payment_option and self.owns_any(user_id, merchant_id, terms.payment_option_id):
            return _cannot_use("the user already bought this payment option")
        return None

    # -- using and crediting ------------------------------------------------------------------------------

    @staticmethod
    def use(option: UserOption) -> None:
        """D42: one use (multi −1, single 1 → 0, unlimited unchanged)."""
        if not option.unlimited:
            option.current_count -= 1

    def credit(self, option: UserOption, now: float) -> UserOption | None:
        """D45: give a use back: multi +1 (same option), single use → a new single-use option (new id),
        unlimited → nothing (``None``: no use was taken)."""
        if option.unlimited:
            return None
        if option.type == SINGLE_USE:
            fresh = UserOption(
                self._new_id(option.user_id, option.payment_option_id),
                option.user_id,
                option.merchant_id,
                option.payment_option_id,
                option.type,
                1,
                1,
                option.valid_start_sec,
                option.valid_end_sec,
                option.purchase_id,
            )
            return self._add(fresh)
        option.current_count += 1
        return option

    def of_user(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Snapshots of a user's options (or everyone's), oldest first."""
        if user_id is None:
            return [o.as_mapping() | {"user_id": o.user_id} for o in self.by_id.values()]
        return [o.as_mapping() | {"user_id": o.user_id} for o in self.by_user.get(user_id, ())]
