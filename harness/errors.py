"""The harness's view of bookcheck's one error tree (defined in :mod:`booking_protocol.errors`, the leaf both
sides import). Every error a harness entry point raises for the user to fix is a :class:`UsageError`
(exit 2); a target that cannot be reached is :class:`TargetUnreachable` (exit 3)."""

from __future__ import annotations

from booking_protocol.errors import BookcheckError, ExitCode, TargetUnreachable, UsageError

__all__ = ["BookcheckError", "ExitCode", "TargetUnreachable", "UsageError"]
