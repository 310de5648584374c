"""``bookcheck``: the one command-line entry point.

This module only composes: each room of the project registers its own sub-commands (``register``) and
owns their flags and behaviour. A sub-command's function returns the process exit code.

    serve          mock_server.cli          the reference booking server (REST/JSON and gRPC)
    generate       mock_server.datagen.cli  fake merchants, services, availability and users
    validate-feed  mock_server.datagen.cli  check a partner's own feed files
    run            bookcheck.run_command    the conformance run against any booking server
    demo           bookcheck.run_command    the quick-start job: our server, the full suite, the report
    report         reports.command          re-render a saved JSON report in another format

``bookcheck`` is the composition root: it alone may import harness, reports and mock_server together.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

#: Modules that contribute sub-commands, in the order they are listed in ``--help``.
COMMAND_MODULES = ("bookcheck.run_command", "reports.command", "mock_server.cli", "mock_server.datagen.cli")


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
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
