"""The traffic mix of ``bookcheck load``: what simulated Google users do, as data a partner can change.

The default (``--mix google``) is ``scenarios/load/google.yaml``. It is an assumption, labelled as one
in the file and in ``docs/load.md``: Google publishes thresholds, not traffic. A mix is plain JSON-able data
(:meth:`Mix.as_dict`) so the master can hand it to workers on other machines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from booking_protocol.errors import UsageError

GOOGLE_MIX = Path(__file__).resolve().parent.parent / "scenarios" / "load" / "google.yaml"
ACTIONS = ("page_load", "book", "cancel", "reschedule", "status", "list", "health", "rush")
KEYS = ("name", "actions", "page_load_slot_times", "resend_share", "rush_extra", "lease_share")


@dataclass(frozen=True)
class Mix:
    name: str
    actions: dict[str, float]
    page_load_slot_times: tuple[int, int] = (8, 20)
    resend_share: float = 0.05
    rush_extra: int = 1
    lease_share: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["page_load_slot_times"] = list(self.page_load_slot_times)
        return d


def _share(doc: dict[str, Any], key: str, default: float, where: str) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise UsageError(f"{where}: {key} must be a number between 0 and 1, got {value!r}")
    return float(value)


def _actions(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise UsageError(f"{where}: actions must be a mapping of {', '.join(ACTIONS)} to weights")
    out: dict[str, float] = {}
    for name, weight in value.items():
        if name not in ACTIONS:
            raise UsageError(f"{where}: unknown action {name!r} (known: {', '.join(ACTIONS)})")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise UsageError(f"{where}: the weight of {name} must be a number >= 0, got {weight!r}")
        out[str(name)] = float(weight)
    if not any(out.values()):
        raise UsageError(f"{where}: every action weight is 0")
    return out


def parse_mix(doc: Any, where: str) -> Mix:
    """A mix from its YAML/JSON document; every problem is a one-line :class:`UsageError`."""
    if not isinstance(doc, dict):
        raise UsageError(f"{where}: a mix must be a mapping with an 'actions' mapping")
    unknown = sorted(set(doc) - set(KEYS))
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    bounds = doc.get("page_load_slot_times", [8, 20])
    if (
        not isinstance(bounds, list | tuple)
        or len(bounds) != 2
        or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
        or not 1 <= bounds[0] <= bounds[1]
    ):
        raise UsageError(f"{where}: page_load_slot_times must be [MIN, MAX] with 1 <= MIN <= MAX")
    extra = doc.get("rush_extra", 1)
    if isinstance(extra, bool) or not isinstance(extra, int) or not 0 <= extra <= 20:
        raise UsageError(f"{where}: rush_extra must be an integer between 0 and 20, got {extra!r}")
    return Mix(
        name=str(doc.get("name", Path(where).stem)),
        actions=_actions(doc.get("actions"), where),
        page_load_slot_times=(int(bounds[0]), int(bounds[1])),
        resend_share=_share(doc, "resend_share", 0.05, where),
        rush_extra=extra,
        lease_share=_share(doc, "lease_share", 0.0, where),
    )


def load_mix(spec: str) -> Mix:
    """``google`` (the shipped assumption) or the path of a YAML mix file."""
    path = GOOGLE_MIX if spec == "google" else Path(spec)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--mix {spec}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"--mix {spec}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_mix(doc, f"--mix {spec}")


#: Requests one action sends on average (a booking is a slot click and a CreateBooking; a rush about three
#: CreateBookings). Used to turn --rps (requests per second) into actions per second.
_REQUESTS = {
    "page_load": 1.0,
    "book": 2.0,
    "cancel": 1.0,
    "reschedule": 2.0,
    "status": 1.0,
    "list": 1.0,
    "health": 1.0,
    "rush": 2.5,
}


def requests_per_action(mix: dict[str, Any]) -> float:
    actions = {k: float(v) for k, v in mix["actions"].items() if float(v) > 0}
    total = sum(actions.values())
    mean = sum(w * _REQUESTS[k] for k, w in actions.items()) / total
    return mean + float(actions.get("book", 0)) / total * float(mix.get("resend_share", 0))
