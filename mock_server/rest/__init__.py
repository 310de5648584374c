"""The REST/JSON adapter of the reference server (spec §1, §4, §5, §6; decisions D2, D12–D16, D19).

:class:`RestAdapter` turns HTTP requests into :mod:`mock_server.app` calls; :mod:`.codec` is the
table-driven proto3-JSON codec and :mod:`.mapping` the canonical-dict <-> domain translation.
"""

from .handlers import MAX_BODY, RestAdapter, RestOptions, error_response

__all__ = ["MAX_BODY", "RestAdapter", "RestOptions", "error_response"]
