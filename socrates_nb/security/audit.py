"""The audit trail (ASVS 16): one ``audit_logs`` row per mutating operation and per auth event.

Services add the row in the transaction of the change it records (``add``), so a change and
its record commit or roll back together; failures that change nothing but a rate-limit
counter (a wrong password, a replayed signature) are written with the counter (``write``).
Who acted comes from the service's actor; where from (client address, user agent) from the
request being served: the REST extension sets ``request_origin`` for each request, and the
CLI names itself. ``changes`` summarise what changed and never carry a secret: names that
look like one are dropped, and every value is shortened (tests grep rows and logs for the
tokens, passwords, codes and keys they used).

Once the transaction commits, each row is also announced: one log event named by its action
(warnings for failures) and, for auth events, the ``socrates_nb_auth_events_total`` counter. A
rolled-back row is never announced.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, Mapping, TypeVar

from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session as OrmSession

from socrates_nb import metrics
from socrates_nb.logs import get_logger, redact_text

from socrates_nb.storage.db import Database
from socrates_nb.storage.models import AuditLog, utcnow

ACTIONS: Mapping[str, str] = {
    "user.register": "an account was created",
    "user.create": "an operator or administrator created an account",
    "user.password_set": "an operator set an account's password (every session ended)",
    "user.disable": "an administrator disabled an account (every session ended)",
    "user.enable": "an administrator enabled an account again",
    "user.role": "an administrator changed an account's role",
    "auth.login": "a login succeeded",
    "auth.login_failed": "a login failed (unknown user, wrong password or code, disabled account, code missing)",
    "auth.refresh": "a refresh token was exchanged for a new pair",
    "auth.refresh_failed": "an unknown or expired refresh token was presented",
    "auth.refresh_reuse": "a used refresh token was presented again: its whole family was revoked",
    "auth.logout": "a logout",
    "auth.password_change": "an account's password was changed (every other session ended)",
    "auth.password_failed": "a re-authentication (password change, MFA, signing key) had a wrong password",
    "auth.session_revoke": "a user ended one of their login sessions",
    "auth.rate_limited": "an attempt was refused by a rate limit",
    "auth.signature_failed": "a request that must be signed had a missing, wrong, expired or replayed signature",
    "mfa.setup": "a TOTP secret and backup codes were created (not yet enabled)",
    "mfa.enable": "MFA was enabled",
    "mfa.disable": "MFA was disabled",
    "mfa.code_failed": "a wrong, used or expired one-time code was presented",
    "signing_key.create": "a request-signing key was created",
    "signing_key.delete": "a request-signing key was deleted",
    "api_key.put": "an LLM provider key was stored or replaced",
    "api_key.delete": "an LLM provider key was deleted",
    "keys.rotate": "the master key was rotated and stored secrets re-encrypted",
    "project.create": "a project was created",
    "project.update": "a project's name, description or status changed",
    "project.delete": "a project and everything in it was deleted",
    "session.start": "a Socratic session was started",
    "session.answer": "an answer was recorded (its items, conflicts and open questions with it)",
    "session.skip": "a question was skipped",
    "session.complete": "a session was completed",
    "conflict.resolve": "a conflict was resolved or dismissed",
    "open_question.reopen": "an open question was reopened (its question may be asked again)",
}
"""Every action the trail records, with what it means (docs/SECURITY.md lists them)."""

T = TypeVar("T")
WARNINGS = frozenset({
    "auth.login_failed", "auth.refresh_failed", "auth.refresh_reuse", "auth.password_failed", "auth.rate_limited",
    "auth.signature_failed", "mfa.code_failed",
})
"""Actions logged as warnings: failures and refusals."""
_PENDING = "socrates_audit_pending"
_log = get_logger(__name__)
MAX_USER_AGENT_CHARS = 256
MAX_ADDRESS_CHARS = 64  # the column's width (a scoped IPv6 address can be longer)
MAX_VALUE_CHARS = 200
_SECRET_WORDS = ("password", "token", "otp", "secret", "key", "code", "signature")


@dataclass(frozen=True)
class Origin:
    """Where the operations being served come from."""

    client_address: str | None = None
    user_agent: str | None = None


_ORIGIN: ContextVar[Origin] = ContextVar("socrates_audit_origin", default=Origin())


def request_origin(client_address: str | None, user_agent: str | None) -> Token[Origin]:
    """Name the origin of the operations that follow in this context (a request, a CLI run)."""
    agent = _printable(user_agent)[:MAX_USER_AGENT_CHARS] if user_agent else None
    address = _printable(client_address)[:MAX_ADDRESS_CHARS] if client_address else None
    return _ORIGIN.set(Origin(address, agent))


def reset_origin(token: Token[Origin]) -> None:
    """Restore the origin ``request_origin`` replaced."""
    _ORIGIN.reset(token)


def current_origin() -> Origin:
    """The origin named by ``request_origin`` in this context (empty by default)."""
    return _ORIGIN.get()


@dataclass(frozen=True)
class Event:
    """One audit record: the action (a key of ``ACTIONS``), the acting user and the resource."""

    action: str
    user_id: uuid.UUID | None = None
    resource_type: str | None = None
    resource_id: object = None
    changes: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}")


def add(orm: OrmSession, event: Event) -> None:
    """Record ``event`` in the caller's transaction (announced when it commits)."""
    origin = _ORIGIN.get()
    orm.info.setdefault(_PENDING, []).append(event)
    orm.add(
        AuditLog(
            id=uuid.uuid4(), user_id=event.user_id, action=event.action, resource_type=event.resource_type,
            resource_id=None if event.resource_id is None else str(event.resource_id)[:64],
            client_address=origin.client_address, user_agent=origin.user_agent,
            changes=summary(event.changes), created_at=utcnow(),
        )
    )


def add_if(orm: OrmSession, outcome: T, event: Event | None) -> T:
    """``outcome``, after recording ``event`` in the caller's transaction if ``outcome`` is truthy (it happened)."""
    if outcome and event is not None:
        add(orm, event)
    return outcome


def write(db: Database, event: Event) -> None:
    """Record ``event`` in a transaction of its own (for failures, whose own work rolls back)."""
    db.run_write(lambda orm: add(orm, event))


def summary(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` fit for the trail: no secret-like names, values shortened, scalars only."""
    kept: dict[str, Any] = {}
    for name, value in changes.items():
        if any(word in name.lower() for word in _SECRET_WORDS):
            continue
        if value is None or isinstance(value, (bool, int, float)):
            kept[name] = value
        else:
            kept[name] = _printable(redact_text(str(value)))[:MAX_VALUE_CHARS]  # a token typed as a name, say
    return kept


def _printable(text: str) -> str:
    """``text`` without control characters (a CR/LF in a user agent cannot forge an exported line)."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


@orm_event.listens_for(OrmSession, "after_commit")
def _announce(orm: OrmSession) -> None:
    for event in orm.info.pop(_PENDING, ()):
        metrics.auth_event(event.action)
        level = "warning" if event.action in WARNINGS else "info"
        getattr(_log, level)(
            event.action, user_id=None if event.user_id is None else str(event.user_id),
            resource_type=event.resource_type, resource_id=None if event.resource_id is None else str(event.resource_id),
            **summary(event.changes),
        )


@orm_event.listens_for(OrmSession, "after_rollback")
def _forget(orm: OrmSession) -> None:
    orm.info.pop(_PENDING, None)
