"""The payment tokens the simulated processor accepts (D52), read into a :class:`Card`.

Two forms arrive in ``payment_processing_parameters.unparsed_payment_method_token``:

1. a Google Pay ``PaymentData`` JSON object: the card network and last four digits come from
   ``paymentMethodData.info.cardNetwork`` / ``.cardDetails``, the single-use fingerprint from
   ``paymentMethodData.tokenizationData.token``;
2. the shorthand ``bookcheck:<NETWORK>:<last4>:<nonce>`` (the nonce is the fingerprint).

JSON is the adapters' business (tests/test_architecture.py), so the first form arrives already decoded into a
mapping (``mock_server.paytoken``); a JSON text that reaches the domain undecoded is not a usable token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from booking_protocol.commerce import card_type_for_network

_SHORTHAND = re.compile(r"bookcheck:([A-Za-z_]+):([0-9]{4}):(.+)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Card:
    """What the processor needs from a token: network, last four digits and single-use fingerprint."""

    network: str
    last4: str
    fingerprint: str

    @property
    def card_type(self) -> str:
        """The CreditCardType name (``AMEX`` → ``AMERICAN_EXPRESS``; unknown → UNSPECIFIED)."""
        return card_type_for_network(self.network)


def token_of(payment_processing: Mapping[str, object] | None) -> object:
    """The token a request carries: the unparsed Google Pay token, else the deprecated
    ``payment_method_token`` (P2: ignored when the unparsed one is present). ``None`` or "" when absent."""
    if not payment_processing:
        return None
    token = payment_processing.get("unparsed_payment_method_token")
    return token if token else payment_processing.get("payment_method_token")


def parse_card(token: object) -> Card | None:
    """The card of a token in either form, or ``None`` when it is neither (→ "unusable payment token")."""
    if isinstance(token, Mapping):
        return _card_from_payment_data(token)
    if not isinstance(token, str):
        return None
    short = _SHORTHAND.fullmatch(token.strip())
    return Card(short.group(1).upper(), short.group(2), short.group(3)) if short is not None else None


def _card_from_payment_data(data: Mapping[str, object]) -> Card | None:
    method = data.get("paymentMethodData")
    if not isinstance(method, Mapping):
        return None
    info, tokenization = method.get("info"), method.get("tokenizationData")
    if not isinstance(info, Mapping) or not isinstance(tokenization, Mapping):
        return None
    network, details, fingerprint = (
        info.get("cardNetwork"),
        info.get("cardDetails"),
        tokenization.get("token"),
    )
    if not isinstance(network, str) or not network or not isinstance(fingerprint, str) or not fingerprint:
        return None
    if not isinstance(details, str) or not re.fullmatch(r"[0-9]{4}", details):
        return None
    return Card(network.strip().upper(), details, fingerprint)
