"""Ctrl-C and CI cancels during a run.

The first SIGINT or SIGTERM stops the run from starting scenarios, cancels the ones in flight, and lets the
runner clean up what it created (within :data:`CLEANUP_BUDGET_SEC`) and write every report marked INTERRUPTED;
the process then exits 130 (SIGINT) or 143 (SIGTERM). A second signal aborts the cleanup at once: the runner
reports what is left, and the ledger file names it for ``bookcheck cleanup``.

:class:`Interrupts` is handed to :func:`harness.runner.arun`, which installs it on its own event loop for the
duration of the run and restores the previous handlers afterwards (so a library caller, such as the pytest
plugin, keeps its own Ctrl-C behaviour outside the run).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

#: seconds the cleanup of an interrupted run may take before it gives up (a second signal stops it sooner)
CLEANUP_BUDGET_SEC = 60.0
SIGNALS = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


class Interrupts:
    """The signals a run received, as events the runner waits on."""

    def __init__(self, on_signal: Callable[[str, int], None] | None = None) -> None:
        #: the first signal's name, once one arrived
        self.signal: str | None = None
        self.count = 0
        self.first = asyncio.Event()
        self.second = asyncio.Event()
        self._on_signal = on_signal
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Handle SIGINT and SIGTERM on ``loop`` (only possible in the main thread; elsewhere a no-op)."""
        try:
            for sig, name in SIGNALS.items():
                loop.add_signal_handler(sig, self.received, name)
        except (RuntimeError, ValueError, NotImplementedError):
            return
        self._loop = loop

    def uninstall(self) -> None:
        if self._loop is None:
            return
        for sig in SIGNALS:
            self._loop.remove_signal_handler(sig)
        self._loop = None

    def received(self, name: str) -> None:
        """A signal arrived (also callable directly, e.g. by tests)."""
        self.count += 1
        if self.signal is None:
            self.signal = name
            self.first.set()
        else:
            self.second.set()
        if self._on_signal is not None:
            self._on_signal(name, self.count)


__all__ = ["CLEANUP_BUDGET_SEC", "Interrupts"]
