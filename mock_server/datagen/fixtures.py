"""``payment-fixtures.yaml``: the test tokens that make the reference server's simulated processor answer
each way (D48, D52), written beside the generated feeds.

The file is read back with :func:`booking_protocol.commercefeed.load_payment_fixtures`; its comment header
explains the format to whoever opens it, and ``docs/payments.md`` explains it at length.
"""

from __future__ import annotations

import yaml

#: outcome -> the shorthand token of the simulated processor (network, last four digits, nonce)
TOKENS = {
    "approved": "bookcheck:VISA:4242:{nonce}",
    "declined": "bookcheck:VISA:0002:{nonce}",
    "insufficient_funds": "bookcheck:MASTERCARD:9995:{nonce}",
    "processing_error": "bookcheck:VISA:0119:{nonce}",
    "requires_3ds1": "bookcheck:VISA:3063:{nonce}",
    "rejected_network": "bookcheck:AMEX:0005:{nonce}",
}
REJECTED_CARD_TYPE = "AMERICAN_EXPRESS"
#: the test user who owns packs at every studio of the generated feeds (``serve --payment-fixtures``)
PACK_OWNER = "bookcheck-pack-owner"
#: an owned 5-class pack with one class left, and a 10-class pack used up (D42, D44)
OWNED_OPTIONS = (
    {
        "user_payment_option_id": "bookcheck-owned-pack-{merchant_id}",
        "user_id": PACK_OWNER,
        "payment_option_id": "pack-5",
        "current_count": 1,
    },
    {
        "user_payment_option_id": "bookcheck-used-up-pack-{merchant_id}",
        "user_id": PACK_OWNER,
        "payment_option_id": "pack-10",
        "current_count": 0,
    },
)
PA_RESPONSE_PASS = "bookcheck-3ds1:pass"
PA_RESPONSE_FAIL = "bookcheck-3ds1:fail"

HEADER = """\
# bookcheck payment fixtures: which test token gives which payment outcome.
#
# Read by 'bookcheck run --allow-payments --payment-fixtures FILE' (and by the reference server's tests).
# Format (version 1):
#   tokens:               outcome -> the token to put in unparsed_payment_method_token. Outcomes:
#                         approved, declined, insufficient_funds, processing_error, requires_3ds1,
#                         rejected_network. Leave out the ones your gateway cannot produce: those scenarios
#                         are then not run. "{nonce}" is replaced by a fresh value on every use, because a
#                         payment token may be used only once.
#   rejected_card_type:   the CreditCardType the rejected_network token's card has (required with it).
#   three_ds1:            pa_response_pass / pa_response_fail: what to send as pa_response when retrying
#                         after PAYMENT_REQUIRES_3DS1 (optional; without them the retry is not judged).
#   user_payment_options: packs or memberships test users already own at the target (optional), e.g.
#                           user_payment_options:
#                             - {user_payment_option_id: upo-17, user_id: u-1, merchant_id: m-1,
#                                payment_option_id: pack-5}
#                         The payments/owned-pack scenario books with the first one that pays for its slot
#                         (as user_id), and books with it again once it shows no use left (D42, D44).
#                         Without merchant_id an entry stands for every merchant selling payment_option_id,
#                         "{merchant_id}" in its id replaced by the merchant's id. current_count,
#                         valid_start_sec and valid_end_sec are read only by 'bookcheck serve
#                         --payment-fixtures FILE', which gives the users these options at start-up: the
#                         first one below has one class left, the second none.
#
# These tokens are the reference server's magic tokens, bookcheck:<NETWORK>:<last four>:<nonce>: the last
# four digits decide (0002 declined, 9995 insufficient funds, 0119 processing error, 3063 asks for 3DS1,
# anything else approved), and a network the merchant does not accept is rejected. Against your own server,
# replace them with tokens from your payment gateway's test mode.
"""


def payment_fixtures_text() -> str:
    """The fixtures file: the header comment, then the YAML. The same bytes for every seed and date."""
    doc: dict[str, object] = {
        "version": 1,
        "tokens": dict(TOKENS),
        "rejected_card_type": REJECTED_CARD_TYPE,
        "three_ds1": {"pa_response_pass": PA_RESPONSE_PASS, "pa_response_fail": PA_RESPONSE_FAIL},
        "user_payment_options": [dict(o) for o in OWNED_OPTIONS],
    }
    return HEADER + "\n" + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110)
