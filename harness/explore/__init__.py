"""``bookcheck explore``: random booking histories against any target, judged in lock-step by the reference
model, shrunk with Hypothesis to the shortest reproducer (docs/explore.md).

Modules:

=====================  ==================================================================================
``ops``                the operations of a history and the Hypothesis strategies that draw them
``world``              fresh slots (slot pool), users and tokens per history; request bodies
``model``              the reference model: ``mock_server.domain`` (the pure core only) and bookkeeping
``judge``, ``updates``,  each answer judged against the model's prediction, naming the rule it breaks,
``reads``, ``expect``  following the allowed choices (§11 column 3) the target takes
``driver``             the Hypothesis search, budgets, cleanup, the shortest failure per rule
``concurrent``         ``--concurrency K``: concurrent rounds and their recorded histories
``linearize``          the per-slot linearizability check (Wing-Gong search, as Porcupine) and its window
``scenario_writer``,   the reproducers: a scenario file for ``bookcheck run`` and a bash + curl script
``script_writer``
``report``             console summary, JSON and the HTML report with the timeline
``session``            one run from a prepared configuration: refusals, exploration, files, exit code
=====================  ==================================================================================

This package is the only part of the harness allowed to import ``mock_server`` — and only
``mock_server.domain``, as its model (tests/test_architecture.py).
"""
