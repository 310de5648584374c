"""`bookcheck serve --write-feed PATH`: the generated inventory, exported so a run uses the same slots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from booking_protocol.errors import UsageError
from booking_protocol.feed import load_availability_feed
from harness.prepare import RunOptions, prepare
from harness.runner import run
from mock_server.datagen import generate_availability_feed
from mock_server.server import ServerConfig, ServerStartError, serve_in_thread


def test_the_written_feed_is_the_served_inventory_and_a_run_on_it_passes(tmp_path: Path) -> None:
    path = tmp_path / "out" / "feed.json"
    config = ServerConfig(port=0, seed=5, user="u", password="p", write_feed=str(path))
    with serve_in_thread(config) as server:
        assert json.loads(path.read_text()) == generate_availability_feed(seed=5)
        options = RunOptions(
            target=server.rest_url, feed=str(path), user="u", password="p", only=("create-booking/*",)
        )
        result = run(prepare(options))
    assert result.verdict == "PASS", [(c.rule_id, c.message) for c in result.failing_checks()]
    assert len(load_availability_feed(path)) > 1000


def test_an_unwritable_path_is_a_start_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ServerStartError, match="--write-feed") as err:
        with serve_in_thread(ServerConfig(port=0, write_feed=str(blocker / "feed.json"))):
            pass
    assert isinstance(err.value, UsageError)
