"""Domain errors carrying the gRPC status the servicer answers with.

Status semantics follow https://cloud.google.com/tasks/docs/reference/rpc/google.rpc#code
"""

from __future__ import annotations

import grpc


class ApiError(Exception):
    """An RPC failure: the servicer aborts the call with ``code`` and ``message``."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid_argument(message: str) -> ApiError:
    """INVALID_ARGUMENT: malformed request (client raises ``InvalidArgument``)."""
    return ApiError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> ApiError:
    """NOT_FOUND: the named queue or task does not exist (client raises ``NotFound``)."""
    return ApiError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str) -> ApiError:
    """ALREADY_EXISTS: name in use or recently used (client raises ``AlreadyExists``)."""
    return ApiError(grpc.StatusCode.ALREADY_EXISTS, message)
