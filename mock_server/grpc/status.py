"""The one table from domain outcomes to gRPC status codes (spec §11, "gRPC form").

Business failures (``Failure`` inside a result) are *not* here on purpose: they travel inside the response
message with status OK, exactly as over REST (D17). This module only answers "the request could not be
served at all — with which canonical code?".

The REST adapter decides an HTTP status for each input error (including allowed choices such as
``--unknown-booking-status 400|404``, D5); the gRPC adapter reuses that decision through
:data:`HTTP_TO_GRPC`, the canonical mapping behind §4, so the two transports can never disagree about
*which* error a request is.
"""

from __future__ import annotations

import grpc

from mock_server.app import AppError, ErrorCode

#: §11: "Transport errors map to the canonical codes behind §4" (plus 499 from the §4 table).
HTTP_TO_GRPC: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ABORTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    499: grpc.StatusCode.CANCELLED,
    500: grpc.StatusCode.INTERNAL,
    501: grpc.StatusCode.UNIMPLEMENTED,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}


#: The app layer's canonical codes carry the gRPC names already; this is the whole domain → gRPC table.
#: (Domain input errors reach us as AppError: InvalidArgument → INVALID_ARGUMENT, NotFound → NOT_FOUND, or
#: INVALID_ARGUMENT under ``--unknown-booking-status 400``, an unknown method → UNIMPLEMENTED, and what
#: fault profiles inject.)
APP_TO_GRPC: dict[ErrorCode, grpc.StatusCode] = {code: grpc.StatusCode[code.name] for code in ErrorCode}


def grpc_status_for(error: AppError) -> tuple[grpc.StatusCode, str]:
    """Code and one-line details for an application error.

    ``AppError.http`` may override the code's own HTTP status for problems with no canonical code (405,
    413); then the HTTP status decides, through the §4 table, so both transports report the same kind.
    """
    code = APP_TO_GRPC[error.code] if error.http == error.code.http else grpc_code_for_http(error.http)
    return code, one_line(error.message)


def grpc_code_for_http(status: int) -> grpc.StatusCode:
    """The canonical code for an HTTP status; an unlisted 4xx is INVALID_ARGUMENT, anything else INTERNAL."""
    code = HTTP_TO_GRPC.get(status)
    if code is not None:
        return code
    return grpc.StatusCode.INVALID_ARGUMENT if 400 <= status < 500 else grpc.StatusCode.INTERNAL


def one_line(message: str, limit: int = 300) -> str:
    """Status details are one short line: no tracebacks, no multi-line dumps reach a client."""
    first = message.strip().splitlines()[0] if message.strip() else "error"
    return first if len(first) <= limit else first[: limit - 1] + "…"
