"""``bookcheck load``: Google-like traffic on Locust, a readiness verdict and a correctness audit.

Locust runs on gevent, so everything that touches it lives in its own processes: :mod:`loadtest.master`
and :mod:`loadtest.worker` (user classes in :mod:`loadtest.users`, actions in :mod:`loadtest.flows`). The
``bookcheck load`` process itself (:mod:`loadtest.orchestrate`) never imports gevent: it starts them, then
judges (:mod:`loadtest.verdict`), audits and cleans up with the harness's asyncio targets
(:mod:`loadtest.audit`) and writes the reports (:mod:`loadtest.report`). Shared with the harness: the
pure request builders (:mod:`harness.templates`), the feed reader and :func:`harness.prepare.prepare`.
"""
