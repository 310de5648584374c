"""Checks: small registered functions that judge replies against rules of the catalogue.

Shaped like ``scenarios/``: one module per flow family beside its scenario file (``availability``,
``create_booking``, ``health_auth``, ``lease``, ``offers``, ``payments`` with ``packs``, ``status_list``,
``update_booking``, ``virtual``), ``generic`` for the checks whose rule the scenario names, and
:mod:`harness.checks.core` for what they share (:class:`Verdict`, :class:`CheckContext`, the registry and
:func:`check`, the helpers, the automatic checks).

Importing this package registers every built-in check in :data:`REGISTRY`; registering a rule id that
``scenarios/rules.yaml`` does not list, or excludes, raises :class:`CheckRegistrationError` at import.
A new check goes in the module of its family (see docs/harness.md, "Writing a check").
"""

from __future__ import annotations

from harness.checks import (  # noqa: F401  (each module registers its checks when imported)
    availability,
    create_booking,
    generic,
    health_auth,
    lease,
    offers,
    packs,
    payments,
    status_list,
    update_booking,
    virtual,
)
from harness.checks.core import (
    ASYNC,
    AUTO_RULES,
    BUDGETS_MS,
    CONFLICT,
    FAILURE_OPS,
    REGISTRY,
    CheckContext,
    CheckFn,
    CheckRegistrationError,
    RegisteredCheck,
    ScenarioView,
    Verdict,
    auto_checks,
    booking_id,
    check,
    describe,
    expect_business_failure,
    failure_cause,
    is_booking,
    rule_problems,
    slot_mismatches,
    symptom,
    verdict,
    verify_registry,
)
from harness.checks.lease import lease_of

__all__ = [
    "ASYNC",
    "AUTO_RULES",
    "BUDGETS_MS",
    "CONFLICT",
    "FAILURE_OPS",
    "REGISTRY",
    "CheckContext",
    "CheckFn",
    "CheckRegistrationError",
    "RegisteredCheck",
    "ScenarioView",
    "Verdict",
    "auto_checks",
    "booking_id",
    "check",
    "describe",
    "expect_business_failure",
    "failure_cause",
    "is_booking",
    "lease_of",
    "rule_problems",
    "slot_mismatches",
    "symptom",
    "verdict",
    "verify_registry",
]
