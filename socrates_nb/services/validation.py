"""Input checks shared by the services; each failure is a ValidationError with a precise message."""

from __future__ import annotations

import re
import uuid

from socrates_nb.errors import NotFoundError, ValidationError

MAX_ANSWER_CHARS = 20_000
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000
MAX_PAGE = 100
MAX_OFFSET = 2**31 - 1
PROJECT_STATUSES = ("active", "archived")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object, field: str, max_chars: int, allow_empty: bool = False) -> str:
    """``value`` stripped; rejects non-strings, control characters, empty (unless allowed) and overlong text."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text, got {type(value).__name__}")
    text = value.strip()
    if not text and not allow_empty:
        raise ValidationError(f"{field} must not be empty")
    if len(text) > max_chars:
        raise ValidationError(f"{field} is {len(text):,} characters long; the limit is {max_chars:,}")
    if _CONTROL.search(text):
        raise ValidationError(f"{field} contains control characters")
    return text


def answer_text(value: object) -> str:
    """A valid answer: non-empty after stripping, at most 20,000 characters."""
    if isinstance(value, str) and len(value) > MAX_ANSWER_CHARS:
        raise ValidationError(f"answer is {len(value):,} characters long; the limit is {MAX_ANSWER_CHARS:,}")
    return clean_text(value, "answer", MAX_ANSWER_CHARS)


def page_bounds(offset: object, limit: object) -> tuple[int, int]:
    """Checked ``0 <= offset <= 2**31 - 1`` (a bigger one would overflow the database) and ``1 <= limit <= 100``."""
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise ValidationError(f"offset must be an integer from 0 to {MAX_OFFSET:,}, got {shown(offset)}")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be an integer from 1 to {MAX_PAGE}, got {shown(limit)}")
    return offset, limit


def project_status(value: object) -> str:
    """One of the project statuses."""
    if value not in PROJECT_STATUSES:
        raise ValidationError(f"unknown status {shown(value)}; valid statuses: {', '.join(PROJECT_STATUSES)}")
    return str(value)


def has_control_chars(text: str) -> bool:
    """Whether ``text`` holds a control character other than tab, newline and carriage return."""
    return _CONTROL.search(text) is not None


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about user input."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_uuid(value: object, what: str) -> uuid.UUID:
    """A UUID from a UUID or its text; anything else reads as 'not found'."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFoundError(f"{what} {shown(value)} not found") from None
