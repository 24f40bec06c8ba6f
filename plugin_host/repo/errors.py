"""Errors the repository raises; the API maps them onto RFC 9457 problems."""

from __future__ import annotations


class RepositoryError(Exception):
    status = 400


class NotFound(RepositoryError):
    """Missing, or not readable by the principal: both look exactly the same."""

    status = 404


class PermissionDenied(RepositoryError):
    """The principal may read the object but not do this to it."""

    status = 403


class PreconditionFailed(RepositoryError):
    """``If-Match`` named a version that is no longer current."""

    status = 412


class Conflict(RepositoryError):
    status = 409


class ValidationError(RepositoryError):
    """Bad input; ``errors`` maps each field name to its messages."""

    status = 422

    def __init__(self, errors: dict[str, list[str]] | str, field: str | None = None) -> None:
        if isinstance(errors, str):
            errors = {field or "_": [errors]}
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
