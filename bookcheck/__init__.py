"""bookcheck: conformance harness and reference mock server for the Booking Server API v3."""

__version__ = "0.1.0"
