"""A Locust worker of ``bookcheck load``: ``python -m loadtest.worker --master-host H [--master-port P]``.

It needs nothing else: target, credentials, feed slots and mix come from the master (``bookcheck_plan``).
"""

from __future__ import annotations

import argparse
import sys

from gevent import monkey  # type: ignore[import-untyped]

monkey.patch_all()

import locust.runners  # noqa: E402
from locust import events  # noqa: E402
from locust.env import Environment  # noqa: E402

from loadtest.users import GrpcBookingUser, RestBookingUser, install_worker  # noqa: E402

#: Report to the master every second (Locust's default is 3 s) so progress and charts have 1 s steps.
REPORT_INTERVAL = 1.0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.worker")
    p.add_argument("--master-host", required=True)
    p.add_argument("--master-port", type=int, default=5557)
    args = p.parse_args(argv)
    locust.runners.WORKER_REPORT_INTERVAL = REPORT_INTERVAL
    env = Environment(user_classes=[RestBookingUser, GrpcBookingUser], events=events)
    try:
        runner = env.create_worker_runner(args.master_host, args.master_port)
    except Exception as exc:  # Locust raises a plain exception when the master cannot be reached
        print(
            f"bookcheck load --worker: cannot reach the master at {args.master_host}:{args.master_port}: "
            f"{exc}",
            file=sys.stderr,
        )
        return 3
    install_worker(env)
    runner.greenlet.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
