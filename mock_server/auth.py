"""HTTP Basic credentials, checked the same way for REST (the ``Authorization`` header) and gRPC (the
``authorization`` metadata key): spec §6 and decision D19.

Comparisons are constant-time (:func:`hmac.compare_digest`): first against the canonical header, which is
what well-behaved clients send, then over the decoded ``user:password`` bytes for any other spelling
(another scheme case, extra blanks).
"""

from __future__ import annotations

import base64
import binascii
import hmac


class BasicCredentials:
    """The configured ``user:password`` pair and the one check both adapters use."""

    def __init__(self, user: str | None, password: str | None) -> None:
        self._expected = f"{user or ''}:{password or ''}".encode()
        self._canonical = ("Basic " + base64.b64encode(self._expected).decode("ascii")).encode()

    @classmethod
    def configured(cls, user: str | None, password: str | None) -> BasicCredentials | None:
        """The credentials to require, or None when neither a user nor a password is configured."""
        return None if user is None and password is None else cls(user, password)

    def accepts(self, header: str | bytes | None) -> bool:
        """Whether an authorization value is ``Basic base64(user:password)`` with the configured pair."""
        if not header:
            return False
        raw = header if isinstance(header, bytes) else header.encode("utf-8", "replace")
        if hmac.compare_digest(raw, self._canonical):
            return True
        scheme, _, token = raw.decode("latin-1").strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self._expected)
