"""Errors answered as ``{"error": "<French text>", "code": "<english_code>"}``."""

from __future__ import annotations


class ApiError(Exception):
    """A client error with its HTTP status, a stable English code and a French reason."""

    def __init__(self, status: int, code: str, error: str) -> None:
        super().__init__(f"{status} {code}: {error}")
        self.status = status
        self.code = code
        self.error = error


def bad_request(code: str, error: str) -> ApiError:
    return ApiError(400, code, error)


def too_large(error: str) -> ApiError:
    return ApiError(413, "payload_too_large", error)
