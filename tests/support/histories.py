"""Concurrent histories a correct server could give, for the linearizability checker's tests and benchmark.

A random serial run of a simple booking model (3 spots per slot, resent tokens answered with their first
booking), each call then widened into an interval that overlaps its neighbours: every such history is
linearizable, and the checker must place every operation.
"""

from __future__ import annotations

import random
from typing import Any

from harness.explore.linearize import AVAILABLE, BOOKED, CANCELLED, FAILED, HOp


def correct_history(n: int, slots: int, seed: int, *, clients: int = 8, tokens: int = 30) -> list[HOp]:
    rnd = random.Random(seed)
    state: dict[int, dict[str, Any]] = {s: {"open": 3, "live": [], "tokens": {}} for s in range(slots)}
    out: list[HOp] = []
    t, made = 0.0, 0
    for i in range(n):
        s, t = rnd.randrange(slots), t + rnd.random()
        x = state[s]
        call, ret = t - rnd.random() * 2, t + rnd.random() * 2
        client = i % clients
        if rnd.random() < 0.6:
            token = f"t{rnd.randrange(tokens)}"
            if token in x["tokens"]:
                res = (BOOKED, x["tokens"][token])
            elif x["open"] > 0:
                made += 1
                x["open"], x["tokens"][token] = x["open"] - 1, f"b{made}"
                x["live"].append(f"b{made}")
                res = (BOOKED, f"b{made}")
            else:
                res = (FAILED, "SLOT_UNAVAILABLE")
            out.append(HOp(i, client, s, "book", token, res, call, ret))
        elif x["live"] and rnd.random() < 0.6:
            booking = x["live"].pop(rnd.randrange(len(x["live"])))
            x["open"] += 1
            out.append(HOp(i, client, s, "cancel", booking, (CANCELLED, ""), call, ret))
        else:
            answer = "true" if x["open"] else "false"
            out.append(HOp(i, client, s, "read", "", (AVAILABLE, answer), t - 0.01, t))
    return out
