"""``bookcheck``: the one command-line entry point.

This module only composes: each room of the project registers its own sub-commands (``register``) and
owns their flags and behaviour. A sub-command's function returns an :class:`~harness.errors.ExitCode` or
raises a :class:`~harness.errors.BookcheckError`; :func:`main` is the one place that turns an error into
``bookcheck COMMAND: message`` on stderr and its exit code (README, "Exit codes").

    run            bookcheck.run_command      the conformance run against any booking server
    demo           bookcheck.demo_command     the quick-start job: our server, the full suite, the report
    rules          bookcheck.rules_command    the rule catalogue
    explore        bookcheck.explore_command  (when built; a module not built yet is left out)
    load           bookcheck.load_command     Google-like load with Locust, a readiness verdict and an audit
    cleanup        bookcheck.cleanup_command  cancel what a killed run left behind, from its ledger
    replay         bookcheck.replay_command   replay one broken rule of a saved run against a target
    report         reports.command            re-render a saved JSON report in another format
    serve          mock_server.cli            the reference booking server (REST/JSON and gRPC)
    generate       mock_server.datagen.cli    fake merchants, services, availability and users
    validate-feed  mock_server.datagen.cli    check a partner's own feed files

``bookcheck`` is the composition root: it alone may import harness, reports and mock_server together.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from booking_protocol.errors import BookcheckError, ExitCode

#: Modules that contribute sub-commands, in the order they are listed in ``--help``. A module that is not
#: built yet is left out.
COMMAND_MODULES = (
    "bookcheck.run_command",
    "bookcheck.demo_command",
    "bookcheck.rules_command",
    "bookcheck.explore_command",
    "bookcheck.load_command",
    "bookcheck.cleanup_command",
    "bookcheck.replay_command",
    "reports.command",
    "mock_server.cli",
    "mock_server.datagen.cli",
)


class Terminated(BaseException):
    """SIGTERM (what a CI cancel sends), raised in the main thread like Ctrl-C's KeyboardInterrupt, so
    that ``finally`` blocks run (servers stop, the run's bookings are cancelled) before exit 143."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bookcheck",
        description=(
            "Conformance harness and reference server for the Booking Server API v3 "
            "(Reserve with Google / Actions Center). Run 'bookcheck COMMAND --help' for a command's options."
        ),
    )
    from bookcheck import __version__

    parser.add_argument("--version", action="version", version=f"bookcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that room is not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, run the sub-command, and map its outcome to the process exit code (the only place that does)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return int(ExitCode.USAGE)
    try:
        with _sigterm_raises():
            return int(func(args))
    except BookcheckError as exc:
        print(f"bookcheck {args.command}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print(f"bookcheck {args.command}: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Terminated:
        print(f"bookcheck {args.command}: terminated", file=sys.stderr)
        return int(ExitCode.TERMINATED)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While a command runs in the main thread, SIGTERM raises :class:`Terminated`; the previous handler is
    restored afterwards (tests call :func:`main` in-process). Commands that handle SIGTERM themselves
    (``serve`` stops gracefully) install their own handler over this one."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
