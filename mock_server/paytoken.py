"""Decoding a Google Pay payment token on the way in, for both adapters.

``payment_processing_parameters.unparsed_payment_method_token`` is text, and for a real Google Pay token that
text is a JSON ``PaymentData`` object (docs/spec.md §3.12, D52). JSON is the adapters' business, not the
domain's (tests/test_architecture.py), so the REST and gRPC adapters decode it here with orjson and the
domain's simulated processor receives a mapping. Anything that is not a JSON object stays as it came: the
shorthand ``bookcheck:<NETWORK>:<last4>:<nonce>``, a gateway's own test token, or garbage, which the domain
then answers with PAYMENT_ERROR ("unusable payment token") when a payment is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

#: the largest token decoded; a Google Pay PaymentData object is a few kilobytes
MAX_TOKEN_BYTES = 64 * 1024
_TOKEN_FIELDS = ("unparsed_payment_method_token", "payment_method_token")


def decode_payment_token(params: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """``params`` with a JSON-object token replaced by the decoded object (a new mapping; ``None`` stays)."""
    if not params:
        return None
    decoded: dict[str, Any] = {}
    for name in _TOKEN_FIELDS:
        token = params.get(name)
        if isinstance(token, str) and token.lstrip().startswith("{") and len(token) <= MAX_TOKEN_BYTES:
            try:
                value = orjson.loads(token)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                decoded[name] = value
    return {**params, **decoded} if decoded else params
