"""``--credentials-file`` reads the file as Google's test client does (issue 11, item 6): one line
``username:password``; a Windows line ending or stray whitespace is a usage error that says so, never
silently removed (Google's client would send it as part of the credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.prepare import RunOptions, read_credentials
from harness.targets import Credentials


def _read(tmp_path: Path, content: bytes) -> Credentials | None:
    f = tmp_path / "cred.txt"
    f.write_bytes(content)
    return read_credentials(RunOptions(credentials_file=str(f)), env={})


@pytest.mark.parametrize("content", [b"partner:s3cret", b"partner:s3cret\n", b"partner:pa:ss word\n"])
def test_one_unix_line_is_read_as_is(tmp_path: Path, content: bytes) -> None:
    want = content.decode().rstrip("\n").partition(":")
    assert _read(tmp_path, content) == Credentials(want[0], want[2])


def test_a_windows_line_ending_is_named_with_its_fix(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        _read(tmp_path, b"partner:s3cret\r\n")
    text = str(err.value)
    assert "Windows line ending" in text and "dos2unix" in text and "password" in text


@pytest.mark.parametrize(
    ("content", "side"),
    [(b"partner:s3cret  \n", "trailing"), (b"partner:s3cret\t", "trailing"), (b" partner:s\n", "leading")],
)
def test_stray_whitespace_is_refused_not_trimmed(tmp_path: Path, content: bytes, side: str) -> None:
    with pytest.raises(UsageError, match=f"{side} whitespace"):
        _read(tmp_path, content)


@pytest.mark.parametrize("content", [b"partner:s3cret\n\n", b"no-colon\n", b"a:b\nc:d\n", b""])
def test_anything_but_one_line_is_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(UsageError, match="expected one line 'username:password'"):
        _read(tmp_path, content)
