"""Root of the test suite: makes the shared test helpers in ``tests/support`` (``timebase``) importable from
every room. Only that folder goes on ``sys.path``: ``tests/`` itself would let ``tests/reports`` shadow the
real ``reports`` package."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
