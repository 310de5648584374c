# Developer tasks. CI runs `.ci/run`, which is the README's second quick-start command.
PY ?= .venv/bin/python
BOOKCHECK ?= .venv/bin/bookcheck

.PHONY: help setup check test ci conformance bench proto
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup:  ## create .venv with the package and its dev tools
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'

check:  ## lint, format check and strict typing (as scripts/check runs them before the tests)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy booking_protocol harness reports mock_server bookcheck loadtest

test:  ## the whole test suite
	$(PY) -m pytest -n 2

ci:  ## exactly what CI runs (.ci/run): system packages, venv, checks, tests
	bash scripts/check

conformance:  ## full suite against our own reference server, REST and gRPC
	$(BOOKCHECK) demo

bench:  ## every benchmark; prints figures (see docs/performance.md)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

proto:  ## regenerate booking_pb2*.py and the JSON Schemas after editing booking.proto
	$(PY) -m booking_protocol.codegen
