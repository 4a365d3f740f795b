"""Error types with stable codes: the one error contract of every door.

Each error carries a machine-readable ``code`` and the HTTP status the REST door maps
it to, so the CLI, widgets, magics and REST all report the same failure the same way.
"""

from __future__ import annotations


class SocratesError(Exception):
    """Base class of every error socrates_nb reports to a user."""

    code: str = "error"
    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, dict[str, str]]:
        """The error envelope: ``{"error": {"code": ..., "message": ...}}``."""
        return {"error": {"code": self.code, "message": self.message}}


class ValidationError(SocratesError):
    """Input that breaks a rule (empty answer, unknown template, ...)."""

    code = "validation_error"
    http_status = 422


class NotFoundError(SocratesError):
    """The resource does not exist or belongs to someone else."""

    code = "not_found"
    http_status = 404


class ConflictError(SocratesError):
    """The request clashes with the current state (name taken, question already answered)."""

    code = "conflict"
    http_status = 409


class ConfigError(SocratesError):
    """A setting (usually an environment variable) is invalid."""

    code = "config_error"
    http_status = 500


class DatabaseError(SocratesError):
    """The database cannot be reached or is at the wrong schema version."""

    code = "database_error"
    http_status = 503


class UnauthorizedError(SocratesError):
    """Missing, invalid, expired or revoked credentials (wrong username and wrong password look alike)."""

    code = "unauthorized"
    http_status = 401


class MfaRequiredError(UnauthorizedError):
    """The password was right but the account needs a one-time code too."""

    code = "mfa_required"


class ForbiddenError(SocratesError):
    """Authenticated, but not allowed to do this."""

    code = "forbidden"
    http_status = 403


class PreconditionFailedError(SocratesError):
    """A conditional request (``If-Match``) named a version that is no longer current."""

    code = "precondition_failed"
    http_status = 412


class PayloadTooLargeError(SocratesError):
    """A request body over the size limit."""

    code = "payload_too_large"
    http_status = 413


class RateLimitedError(SocratesError):
    """Too many attempts; ``retry_after`` says in how many seconds to try again."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
