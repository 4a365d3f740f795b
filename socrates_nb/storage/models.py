"""The typed ORM model (SQLAlchemy 2). UUID primary keys, UTC timestamps.

Indexes cover every foreign key and the filters/orderings the doors offer; see
docs/DATABASE.md for the reasoning behind each.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def format_ref(prefix: str, seq: int) -> str:
    """A traceable item id such as ``FR-001`` or ``NFR-PERF-012``."""
    return f"{prefix}-{seq:03d}"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use timezone-aware UTC")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, uuid.UUID: Uuid, dict[str, Any]: JSON, list[Any]: JSON}


def _pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


class User(Base):
    __tablename__ = "users"
    id: Mapped[uuid.UUID] = _pk()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[Optional[str]] = mapped_column(String(254))
    password_hash: Mapped[Optional[str]] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("user_id", "name"),
        Index("ix_projects_user_created", "user_id", "created_at", "id"),
        Index("ix_projects_user_status_created", "user_id", "status", "created_at", "id"),
    )
    id: Mapped[uuid.UUID] = _pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    sessions: Mapped[list["Session"]] = relationship(
        back_populates="project", order_by="Session.created_at", cascade="all, delete-orphan", passive_deletes=True
    )


class ProjectCount(Base):
    """How many projects a user has in each status (kept by ProjectService; a page's total)."""

    __tablename__ = "project_counts"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_project_created", "project_id", "created_at"),)
    id: Mapped[uuid.UUID] = _pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    engine: Mapped[str] = mapped_column(String(32), default="offline")
    model: Mapped[Optional[str]] = mapped_column(String(200))
    base_url: Mapped[Optional[str]] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="active")
    answer_count: Mapped[int] = mapped_column(Integer, default=0)
    question_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    completed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    project: Mapped[Project] = relationship(back_populates="sessions")


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("session_id", "seq"),
        Index("ix_questions_session_status", "session_id", "status"),
        Index("ix_questions_project_bank_key", "project_id", "bank_key"),
    )
    id: Mapped[uuid.UUID] = _pk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    bank_key: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # a follow-up probe asks to make this (vague) item measurable; depth 1 or 2
    probe_item_id: Mapped[Optional[uuid.UUID]] = mapped_column(
        ForeignKey("spec_items.id", ondelete="SET NULL", use_alter=True), index=True
    )
    probe_depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    asked_at: Mapped[datetime] = _created()


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)
    id: Mapped[uuid.UUID] = _pk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    question_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    maturity_after: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = _created()


class SpecItem(Base):
    __tablename__ = "spec_items"
    __table_args__ = (
        UniqueConstraint("project_id", "ref_prefix", "ref_seq"),
        # covering: the per-category confidence sums read the index only
        Index("ix_spec_items_project_current_category", "project_id", "is_current", "category", "confidence"),
        Index("ix_spec_items_project_key", "project_id", "key", "is_current"),
        # the conflict check reads the newest current items without a sort step
        Index("ix_spec_items_project_current_created", "project_id", "is_current", "created_at"),
    )
    id: Mapped[uuid.UUID] = _pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    answer_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("answers.id", ondelete="SET NULL"), index=True)
    ref_prefix: Mapped[str] = mapped_column(String(16))
    ref_seq: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    # none: precise enough; due: vague, waiting for its follow-up; asked: a follow-up was asked;
    # still_vague: the follow-ups got no measurable answer; criteria_due / criteria_asked: a
    # capability waiting for / asked about its acceptance criteria (see services/turn.py)
    probe_state: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    superseded_by: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("spec_items.id", ondelete="SET NULL"), index=True)
    # acceptance criteria, rules or edge cases the user gave for this capability (a criteria follow-up)
    criteria: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=sql_text("'[]'"))
    # ids of the earlier answers that stated the same target (restatements this item superseded)
    restated_from: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=sql_text("'[]'"))
    created_at: Mapped[datetime] = _created()

    @property
    def ref(self) -> str:
        """The stable traceable id, e.g. ``FR-001`` or ``NFR-PERF-002``."""
        return format_ref(self.ref_prefix, self.ref_seq)


class Conflict(Base):
    __tablename__ = "conflicts"
    __table_args__ = (Index("ix_conflicts_project_status", "project_id", "status"),)
    id: Mapped[uuid.UUID] = _pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    item_a_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spec_items.id", ondelete="CASCADE"), index=True)
    item_b_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spec_items.id", ondelete="CASCADE"), index=True)
    explanation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[Optional[str]] = mapped_column(String(16))
    resolution_text: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    resolved_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


class OpenQuestion(Base):
    """A question the user could not answer yet ("not specified", "TBD"): a gap, never a requirement."""

    __tablename__ = "open_questions"
    __table_args__ = (Index("ix_open_questions_project_status", "project_id", "status"),)
    id: Mapped[uuid.UUID] = _pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    session_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), index=True)
    question_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"), index=True)
    answer_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("answers.id", ondelete="SET NULL"), index=True)
    # the vague item a follow-up asked about, when the follow-up got the non-answer
    item_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("spec_items.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(120))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = _created()
    resolved_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)


# --- security tables: created now, filled by the REST and security features -------------


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("user_id", "provider"),)
    id: Mapped[uuid.UUID] = _pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    id: Mapped[uuid.UUID] = _pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = _created()


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RateLimitHit(Base):
    """One counted attempt in a rate-limit bucket, until it leaves the window (security/ratelimit.py)."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_bucket_expires", "bucket", "expires_at"),)
    id: Mapped[uuid.UUID] = _pk()
    bucket: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of the bucket name
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class MfaSecret(Base):
    __tablename__ = "mfa_secrets"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_step: Mapped[Optional[int]] = mapped_column(Integer)
    backup_code_hashes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = _created()


class SigningKey(Base):
    """A user's request-signing secret, encrypted with the server's SecretBox (services/signing.py)."""

    __tablename__ = "signing_keys"
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()


class UsedSignature(Base):
    """A request signature already accepted, kept until its timestamp leaves the window (replay protection)."""

    __tablename__ = "used_signatures"
    signature_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the signature
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditLog(Base):
    """One audit record (security/audit.py): the account it concerns, the action, the resource, where from."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        Index("ix_audit_logs_user_created", "user_id", "created_at"),
        Index("ix_audit_logs_created_id", "created_at", "id"),
    )
    id: Mapped[uuid.UUID] = _pk()
    user_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[Optional[str]] = mapped_column(String(32))
    resource_id: Mapped[Optional[str]] = mapped_column(String(64))
    client_address: Mapped[Optional[str]] = mapped_column(String(64))
    user_agent: Mapped[Optional[str]] = mapped_column(String(256))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = _created()


class LlmUsage(Base):
    """One call to an LLM provider (or a reply served from the cache): who, where, tokens and estimated cost.

    Rows outlive the project and session they were made for (their ids become NULL), so
    spending stays accounted for.
    """

    __tablename__ = "llm_usage"
    __table_args__ = (Index("ix_llm_usage_user_created", "user_id", "created_at"),)
    id: Mapped[uuid.UUID] = _pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    session_id: Mapped[Optional[uuid.UUID]] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = _created()
