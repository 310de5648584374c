"""Where the payment scenarios get their test tokens (spec §11 D48): never invented, only supplied.

A real partner's booking server charges through its own gateway, so only the partner can give tokens its
test mode accepts. bookcheck takes them from two places, and from nowhere else:

* ``--payment-fixtures FILE``: outcome -> token (``approved``, ``declined``, ``insufficient_funds``,
  ``processing_error``, ``requires_3ds1``, ``rejected_network``), read by
  :func:`booking_protocol.commercefeed.load_payment_fixtures`; ``{nonce}`` in a token is replaced by a fresh
  value on every use, because Google Pay tokens are single-use;
* ``--payment-token-command CMD``: run once per token needed, it prints one fresh token on stdout. It is
  asked only for the *approved* outcome (the environment variable ``BOOKCHECK_PAYMENT_OUTCOME`` says so):
  a command that printed an approving token for a "declined" request would make a correct server look
  wrong, so the other outcomes come only from the fixtures file.

Without either, :attr:`PaymentTokens.missing` says why the payment scenarios are skipped as not claimed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
from dataclasses import dataclass

from booking_protocol.commercefeed import PaymentFixtures

#: longest wait for one run of ``--payment-token-command``
COMMAND_TIMEOUT_SEC = 30.0
#: the one outcome ``--payment-token-command`` is asked for
COMMAND_OUTCOME = "approved"


class TokenUnavailable(Exception):
    """No token for an outcome (not in the fixtures), or the token command failed: the scenario leg that
    needs it cannot run. ``str()`` says why, for the scenario's skip reason."""


@dataclass(frozen=True)
class PaymentTokens:
    """The run's token sources. ``allowed``: ``--allow-payments`` was given."""

    allowed: bool = False
    fixtures: PaymentFixtures | None = None
    command: str | None = None

    @property
    def missing(self) -> str | None:
        """Why payment scenarios cannot run (None: they can)."""
        if not self.allowed:
            return (
                "payments not claimed: payment scenarios charge the target's test gateway, so they run only "
                "with --allow-payments and --payment-fixtures FILE or --payment-token-command CMD (D48)"
            )
        if self.fixtures is None and not self.command:
            return (
                "payments allowed but no test tokens given: add --payment-fixtures FILE or "
                "--payment-token-command CMD (bookcheck never invents payment tokens, D48)"
            )
        if self.command is None and self.fixtures is not None and not self.fixtures.template("approved"):
            return "the payment fixtures have no 'approved' token, which every payment scenario needs"
        return None

    def has(self, outcome: str) -> bool:
        """Can a token for ``outcome`` be had?"""
        if outcome == COMMAND_OUTCOME and self.command:
            return True
        return self.fixtures is not None and self.fixtures.template(outcome) is not None

    async def token(self, outcome: str) -> str:
        """A fresh token for ``outcome``; :class:`TokenUnavailable` when there is none."""
        if outcome == COMMAND_OUTCOME and self.command:
            return await run_token_command(self.command, outcome)
        fresh = self.fixtures.token(outcome, secrets.token_hex(6)) if self.fixtures else None
        if fresh is None:
            raise TokenUnavailable(f"the payment fixtures give no '{outcome}' token")
        return fresh

    @property
    def pa_response_pass(self) -> str:
        return self.fixtures.pa_response_pass if self.fixtures else ""

    @property
    def rejected_card_type(self) -> str:
        return self.fixtures.rejected_card_type if self.fixtures else ""


async def run_token_command(command: str, outcome: str) -> str:
    """Run ``command`` (split like a shell line, no shell) and return the one token it printed."""
    env = {**os.environ, "BOOKCHECK_PAYMENT_OUTCOME": outcome}
    try:
        proc = await asyncio.create_subprocess_exec(
            *shlex.split(command),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        raise TokenUnavailable(f"--payment-token-command could not start: {exc.strerror or exc}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), COMMAND_TIMEOUT_SEC)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        why = f"--payment-token-command gave no token in {COMMAND_TIMEOUT_SEC:g} s"
        raise TokenUnavailable(why) from None
    token = out.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or not token or "\n" in token:
        last = (err.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise TokenUnavailable(
            f"--payment-token-command exited {proc.returncode} without printing one token ({last})"
        )
    return token


def check_command(command: str) -> str | None:
    """Why ``--payment-token-command`` cannot be used (None: it can be started)."""
    import shutil

    try:
        words = shlex.split(command)
    except ValueError as exc:
        return f"cannot split the command line: {exc}"
    if not words:
        return "is empty"
    if shutil.which(words[0]) is None:
        return f"{words[0]!r} is not an executable program (on PATH or as a path)"
    return None


__all__ = ["COMMAND_OUTCOME", "PaymentTokens", "TokenUnavailable", "check_command", "run_token_command"]
