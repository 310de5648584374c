"""The conformance harness: prepares a run (:mod:`harness.prepare`), runs the scenarios against a target
(:mod:`harness.runner`), judges every reply with the registered checks (:mod:`harness.checks`) and hands
result records (:mod:`harness.results`) to whoever reports them."""
