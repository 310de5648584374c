"""Locust user classes of ``bookcheck load`` and the worker-side wiring (gevent processes only).

- :class:`RestBookingUser` is a Locust ``FastHttpUser``: every request goes through Locust's own client, so
  Locust's statistics, UI and distribution see it as any HTTP request.
- :class:`GrpcBookingUser` calls the gRPC form of the API (bookcheck's own, spec §11) with grpcio under
  gevent and reports every call to Locust's ``request`` event.

Both run the same :class:`loadtest.flows.Flows`. The plan arrives from the master over Locust's message
channel (``bookcheck_plan``); what the flows recorded travels back on Locust's own stats reports
(``report_to_master``), and a final ``bookcheck_flush`` makes every worker report what is left.
"""

from __future__ import annotations

import itertools
import random
import time
from typing import Any
from urllib.parse import urlsplit

import gevent  # type: ignore[import-untyped]
import gevent.event  # type: ignore[import-untyped]
import gevent.pool  # type: ignore[import-untyped]
import orjson
from locust import FastHttpUser, User, constant, task
from locust.env import Environment

from loadtest.flows import RECORDER, Answer, Flows
from loadtest.mix import requests_per_action
from loadtest.plan import LoadPlan

#: In-flight actions per user with --rps; beyond it an arrival is counted as missed, not queued.
MAX_IN_FLIGHT = 16


class WorkerState:
    """The plan of this worker process, and whether the master asked the users to finish."""

    plan: LoadPlan | None = None
    ready = gevent.event.Event()
    draining = False
    in_flight = 0
    seq = itertools.count()


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class RestCaller:
    """One request through Locust's FastHttpUser client; non-200 and business failures are Locust failures."""

    def __init__(self, user: FastHttpUser, plan: LoadPlan) -> None:
        self.client = user.client
        self.base = urlsplit(plan.target).path.rstrip("/")
        self.slash = "/" if plan.trailing_slash else ""
        auth = plan.basic_auth()
        self.headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}

    def call(self, method: str, body: dict[str, Any] | None) -> Answer:
        path = f"{self.base}/v3/{method}{self.slash}"
        if body is None:
            ctx = self.client.get(path, headers=self.headers, name=method, catch_response=True)
        else:
            data = orjson.dumps(body)
            ctx = self.client.post(path, data=data, headers=self.headers, name=method, catch_response=True)  # type: ignore[arg-type]
        with ctx as resp:
            status = int(resp.status_code or 0)
            ms = float(resp.request_meta.get("response_time") or 0.0)
            if status == 0:
                err = str(getattr(resp, "error", None) or "no answer")
                resp.failure(err)
                return Answer(method, None, {}, ms, err)
            parsed: Any = {}
            if resp.content:
                try:
                    parsed = orjson.loads(resp.content)
                except orjson.JSONDecodeError:
                    parsed = {}
            data_ = parsed if isinstance(parsed, dict) else {}
            answer = Answer(method, status, data_, ms)
            if status != 200:
                resp.failure(f"HTTP {status}")
            elif answer.cause is not None:
                resp.failure(f"booking_failure {answer.cause}")
            else:
                resp.success()
            return answer


class _Paced:
    """The loop shared by both user classes: open-model pacing with --rps, back-to-back without."""

    environment: Environment

    def setup_flows(self, caller: Any) -> None:
        WorkerState.ready.wait()
        plan = WorkerState.plan
        assert plan is not None
        runner = self.environment.runner
        index = max(0, int(getattr(runner, "worker_index", 0) or 0))
        n = next(WorkerState.seq)
        shard = index + max(1, plan.workers) * n
        self.flows = Flows(
            plan,
            caller,
            shard=shard,
            shards=max(1, plan.users),
            prefix=f"lt{plan.nonce}-w{index}-u{n}",
            spawn=gevent.spawn,
        )
        actions = {k: v for k, v in plan.mix["actions"].items() if v > 0}
        self.names, self.weights = list(actions), list(actions.values())
        self.rng = random.Random(f"{plan.seed}-{index}-{n}")
        self.actions_in_flight = gevent.pool.Group()
        self.plan = plan

    def one_action(self) -> None:
        WorkerState.in_flight += 1
        try:
            self.flows.run(self.rng.choices(self.names, self.weights)[0])
        finally:
            WorkerState.in_flight -= 1

    def loop(self) -> None:
        if self.plan.rps is None:
            while not WorkerState.draining:
                self.one_action()
            gevent.sleep(3600)
        users = max(1, self.plan.users)
        assert self.plan.rps is not None
        interval = users * requests_per_action(self.plan.mix) / float(self.plan.rps)
        due = time.monotonic() + self.rng.random() * interval
        while not WorkerState.draining:
            pause = due - time.monotonic()
            if pause > 0:
                gevent.sleep(pause)
            if WorkerState.draining:
                break
            if len(self.actions_in_flight) >= MAX_IN_FLIGHT:
                RECORDER.notes["missed_arrivals"] += 1
            else:
                self.actions_in_flight.spawn(self.one_action)
            due += interval
        self.actions_in_flight.join()
        gevent.sleep(3600)


class RestBookingUser(_Paced, FastHttpUser):
    """A simulated Google user over REST (Locust FastHttpUser)."""

    wait_time = constant(0)
    host = "http://127.0.0.1"
    concurrency = MAX_IN_FLIGHT

    def on_start(self) -> None:
        WorkerState.ready.wait()
        assert WorkerState.plan is not None
        self.setup_flows(RestCaller(self, WorkerState.plan))

    def on_stop(self) -> None:
        group = getattr(self, "actions_in_flight", None)
        if group is not None:
            group.kill(block=False)

    @task
    def run_mix(self) -> None:
        self.loop()


class GrpcBookingUser(_Paced, User):
    """A simulated Google user over bookcheck's gRPC form; each call is reported to Locust's request event."""

    wait_time = constant(0)

    def on_start(self) -> None:
        from loadtest.grpc_caller import GrpcCaller

        WorkerState.ready.wait()
        assert WorkerState.plan is not None
        self.setup_flows(GrpcCaller(WorkerState.plan, self.environment))

    def on_stop(self) -> None:
        group = getattr(self, "actions_in_flight", None)
        if group is not None:
            group.kill(block=False)

    @task
    def run_mix(self) -> None:
        self.loop()


def configure_user_classes(plan: LoadPlan) -> None:
    """Client settings every worker takes from the plan (timeouts, TLS verification)."""
    RestBookingUser.host = origin(plan.target)
    RestBookingUser.network_timeout = plan.timeout
    RestBookingUser.connection_timeout = plan.timeout
    RestBookingUser.insecure = plan.insecure
    if plan.ca_file:
        import ssl

        ca_file = plan.ca_file
        RestBookingUser.ssl_context_factory = lambda: ssl.create_default_context(cafile=ca_file)


def user_class_for(plan: LoadPlan) -> type[User]:
    return GrpcBookingUser if plan.target.startswith("grpc") else RestBookingUser


def install_worker(env: Environment) -> None:
    """Worker side of the channel: receive the plan, ship records with every stats report, drain, flush."""
    runner = env.runner
    assert runner is not None

    def on_plan(environment: Environment, msg: Any, **_: Any) -> None:
        plan = LoadPlan.from_json(msg.data)
        configure_user_classes(plan)
        WorkerState.plan = plan
        WorkerState.draining = False
        WorkerState.ready.set()

    def on_drain(environment: Environment, msg: Any, **_: Any) -> None:
        WorkerState.draining = True
        deadline = time.monotonic() + float(msg.data.get("timeout", 15))
        while WorkerState.in_flight > 0 and time.monotonic() < deadline:
            gevent.sleep(0.05)
        runner.send_message("bookcheck_drained", {"in_flight": WorkerState.in_flight})

    def on_flush(environment: Environment, msg: Any, **_: Any) -> None:
        send_stats = getattr(runner, "_send_stats", None)
        if send_stats is not None:
            send_stats()
        runner.send_message("bookcheck_flushed", {})

    def on_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        data["bookcheck"] = RECORDER.drain()

    runner.register_message("bookcheck_plan", on_plan)
    runner.register_message("bookcheck_drain", on_drain, concurrent=True)
    runner.register_message("bookcheck_flush", on_flush)
    env.events.report_to_master.add_listener(on_report)  # type: ignore[no-untyped-call]
