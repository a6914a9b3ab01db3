"""Exceptions whose messages are safe to show to a user.

index/ raises these; the CLI and the bot translate them into replies and exit codes.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An error whose message is written for the person using steppe."""

    exit_code = 1


class IndexNotFound(UserFacingError):
    """No index exists where one was expected."""

    exit_code = 2


class IndexCorrupt(UserFacingError):
    """An index file is missing, truncated or unreadable."""

    exit_code = 2


class ModelMismatch(UserFacingError):
    """The index was built with another model, dimension or schema."""

    exit_code = 2


class EmptyQuery(UserFacingError):
    """The question has no searchable words."""


class BackendUnavailable(UserFacingError):
    """An optional embedding backend is not installed."""

    exit_code = 2


class FetchError(UserFacingError):
    """A URL or feed could not be fetched or yielded no article.

    ``transient``: the failure may pass (a timeout, a dropped connection, a 5xx or 429 answer);
    ``retry_after``: seconds the server asked us to wait (a Retry-After header), if it did.
    """

    def __init__(self, message: str, *, transient: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.transient, self.retry_after = transient, retry_after
