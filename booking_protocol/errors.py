"""The one error tree and the one exit-code vocabulary of every ``bookcheck`` command.

Both sides of the wire import this module (it is the shared leaf, like the protocol itself), so a feed error
raised while ``serve`` loads its inventory and a bad flag of ``run`` end the process the same way:
``bookcheck/cli.py`` catches :class:`BookcheckError`, prints ``bookcheck COMMAND: message`` on stderr and
exits with the error's :attr:`~BookcheckError.exit_code`. Nothing else maps errors to exit codes.

    BookcheckError                 base; never raised itself
    ├── UsageError                 exit 2: a flag, file, profile, feed, baseline or scenario the user must fix
    │   └── (FeedError, ProfileError, BaselineError, ScenarioFileError, CatalogueError, ServerStartError, …)
    └── TargetUnreachable          exit 3: the target could not be reached or judged at all
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes of ``run``, ``demo``, ``explore``, ``load``, ``serve``, ``generate`` and
    ``validate-feed`` (README, "Exit codes")."""

    OK = 0  # nothing fails the run: no error-level deviation (nor warning-level with --fail-on warning)
    DEVIATIONS = 1  # deviations found, or a baseline entry went stale
    USAGE = 2  # bad flags or input files, or a setup mistake found before anything was judged
    UNREACHABLE = 3  # the target could not be reached at all (refused, TLS failure, timeout)
    INCONCLUSIVE = 4  # the run could judge too little to give a verdict (spec §11 D29)
    INTERRUPTED = 130  # SIGINT (Ctrl-C)
    TERMINATED = 143  # SIGTERM (what a CI cancel sends)


class BookcheckError(Exception):
    """Base of every error that ends a command with a one-line message and an exit code."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(BookcheckError):
    """Something the user must fix before anything runs: exit 2, one line naming the flag or file."""

    exit_code = ExitCode.USAGE


class TargetUnreachable(BookcheckError):
    """The target could not be reached at all (refused connection, TLS failure, DNS, timeout): exit 3."""

    exit_code = ExitCode.UNREACHABLE


__all__ = ["BookcheckError", "ExitCode", "TargetUnreachable", "UsageError"]
