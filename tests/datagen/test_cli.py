"""The commands as a tester runs them: exit codes, output files, one-line errors (no tracebacks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest

from bookcheck.cli import main
from booking_protocol.feed import load_availability_feed

TIMEOUT = 60


def bookcheck(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bookcheck", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    top = bookcheck("--help")
    assert top.returncode == 0 and "generate" in top.stdout and "validate-feed" in top.stdout
    gen = bookcheck("generate", "--help")
    assert gen.returncode == 0 and "--seed" in gen.stdout and "users" in gen.stdout


def test_generate_then_validate(tmp_path: Path, feeds_dir: Path) -> None:
    out = tmp_path / "feeds"
    args = (
        "--seed",
        "11",
        "--merchants",
        "8",
        "--start",
        "2030-01-07",
        "--locale",
        "en_US,de_DE,ja_JP,fr_FR",
        "--verticals",
        "all",
        "--out",
        str(out),
    )
    gen = bookcheck("generate", *args)
    assert gen.returncode == 0, gen.stderr
    assert "availability rows" in gen.stderr
    for name in ("merchants.json", "services.json", "availability.json"):
        assert (out / name).read_bytes() == (feeds_dir / name).read_bytes(), "CLI == library, byte for byte"
    ok = bookcheck("validate-feed", str(out))
    assert ok.returncode == 0 and ok.stdout.startswith("VALID"), ok.stdout
    broken = json.loads((out / "availability.json").read_text())
    broken["service_availability"][0]["availability"][7]["spots_open"] = 99
    (out / "availability.json").write_text(json.dumps(broken))
    bad = bookcheck("validate-feed", str(out / "availability.json"))
    assert bad.returncode == 1
    assert "$.service_availability[0].availability[7].spots_open" in bad.stdout
    assert "[availability/spots-open-exceeds-total]" in bad.stdout
    as_json = bookcheck("validate-feed", "--format", "json", str(out))
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["valid"] is False


def test_generate_availability_writes_one_loadable_file(tmp_path: Path) -> None:
    path = tmp_path / "avail.json"
    run = bookcheck("generate", "availability", "--seed", "4", "--merchants", "3", "--out", str(path))
    assert run.returncode == 0, run.stderr
    assert load_availability_feed(path) and [p.name for p in tmp_path.iterdir()] == ["avail.json"]


def test_generate_users_to_stdout() -> None:
    run = bookcheck("generate", "users", "--count", "5", "--seed", "2", "--locale", "de_DE")
    assert run.returncode == 0, run.stderr
    users = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(users) == 5
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(u["telephone"])) for u in users)


def test_usage_error_in_a_real_process_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = bookcheck("validate-feed", str(tmp_path / "nope.json"))
    assert run.returncode == 2
    assert (
        run.stderr.strip() == f"bookcheck validate-feed: {tmp_path / 'nope.json'}: no such file or directory"
    )


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ("validate-feed", str(tmp_path / "nope.json")),
        ("generate", "--start", "2030-02-30", "--out", str(tmp_path)),
        ("generate", "--locale", "xx_XX", "--out", str(tmp_path)),
        ("generate", "--verticals", "bakery", "--out", str(tmp_path)),
        ("generate", "--seed", "1"),
    ):
        assert _main(*args) == 2, args
        err = capsys.readouterr().err
        assert (
            err.strip().splitlines()[-1].startswith(("bookcheck validate-feed: ", "bookcheck generate: "))
        ), err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert _main("generate", "--merchants", "1", "--out", str(blocker / "sub")) == 2
    assert "cannot write" in capsys.readouterr().err


def _main(*args: str) -> int:
    """bookcheck in-process; argparse's own usage errors exit via SystemExit(2)."""
    try:
        return main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
