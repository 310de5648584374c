"""Users and idempotency tokens of one scenario, derived from the seed, the scenario and a per-run nonce.

The seed makes slot choice and verdicts reproducible; the nonce makes sure that re-running against the same
server never replays a token (or reuses a user) of an earlier run. Used by the runner, by cleanup (to release
leases) and by ``explore``.
"""

from __future__ import annotations

import hashlib
from typing import Any

_GIVEN = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
_FAMILY = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
    "Lee",
)


class Ids:
    """User ids and idempotency tokens of one scenario.

    Both are derived from (seed, scenario id, name) *and* a per-run nonce: the seed makes slot choice and
    verdicts reproducible, the nonce makes sure that re-running against the same server never replays a
    token (or reuses a user) of an earlier run, which would turn a "new booking" into an idempotent replay.
    ``--nonce`` pins it when byte-identical requests are wanted.
    """

    def __init__(self, seed: int, nonce: str, scenario_id: str) -> None:
        self.prefix = f"{seed}:{nonce}:{scenario_id}"
        self.nonce = nonce
        self._users: dict[str, dict[str, Any]] = {}

    def _h(self, kind: str, name: str) -> bytes:
        return hashlib.sha256(f"{self.prefix}:{kind}:{name}".encode()).digest()

    def user(self, name: str) -> dict[str, Any]:
        u = self._users.get(name)
        if u is None:
            h = self._h("user", name)
            uid = str(1_000_000_000_000_000_000 + int.from_bytes(h[:8], "big") % 8_999_999_999_999_999_999)
            u = {
                "user_id": uid,
                "given_name": _GIVEN[h[8] % len(_GIVEN)],
                "family_name": _FAMILY[h[9] % len(_FAMILY)],
                "telephone": f"+1 415-555-{int.from_bytes(h[10:12], 'big') % 10000:04d}",
                "email": f"bookcheck+{h[12:18].hex()}@example.com",
            }
            self._users[name] = u
        return u

    def token(self, name: str) -> str:
        return f"bookcheck-{self.nonce}-{self._h('token', name)[:10].hex()}"
