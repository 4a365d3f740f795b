"""Users' LLM provider API keys, encrypted at rest, and the re-encryption of every stored secret.

A key is stored as Fernet ciphertext under the master keys of ``security/crypto.py``
(``SecretBox``) with its last 4 characters in clear for display; no door ever shows
the key again, and only ``ApiKeyService.secret`` (for the LLM engines) decrypts it.
``rotate_secrets`` re-encrypts the API keys and the TOTP secrets under the newest
master key (``socrates keys rotate``); docs/SECURITY.md has the procedure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, delete, select, update
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.engine.llm.settings import PROVIDERS
from socrates_nb.errors import NotFoundError, ValidationError
from socrates_nb.security.crypto import SecretBox, SecretError
from socrates_nb.security import audit
from socrates_nb.security.audit import Event
from socrates_nb.services.validation import shown
from socrates_nb.services.views import Actor, _iso
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import ApiKey, MfaSecret, utcnow

MAX_KEY_CHARS = 512
ROTATION_BATCH = 200
_KEY = re.compile(r"[\x21-\x7e]+")  # printable ASCII without spaces
SECRET_COLUMNS: tuple[tuple[Column[Any], Column[Any]], ...] = (
    (ApiKey.__table__.c.id, ApiKey.__table__.c.ciphertext),
    (MfaSecret.__table__.c.user_id, MfaSecret.__table__.c.secret_ciphertext),
)
"""Every encrypted column, with its table's primary key: what a rotation re-encrypts."""


@dataclass(frozen=True)
class ApiKeyView:
    """A stored key as its owner sees it: the provider and the last 4 characters, never the key."""

    provider: str
    last4: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{provider, last4, created_at, updated_at}``."""
        return {
            "provider": self.provider, "last4": self.last4,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
        }


def check_provider(value: object) -> str:
    """One of PROVIDERS; ValidationError naming the valid ones otherwise."""
    if value not in PROVIDERS:
        raise ValidationError(f"unknown provider {shown(value)}; valid providers: {', '.join(PROVIDERS)}")
    return str(value)


def check_key(value: object) -> str:
    """An API key: printable ASCII without spaces, 1 to 512 characters (surrounding white space is dropped).

    The error messages never contain the key.
    """
    if not isinstance(value, str):
        raise ValidationError(f"key must be text, got {type(value).__name__}")
    key = value.strip()
    if not key:
        raise ValidationError("key must not be empty")
    if len(key) > MAX_KEY_CHARS:
        raise ValidationError(f"key is {len(key):,} characters long; the limit is {MAX_KEY_CHARS}")
    if not _KEY.fullmatch(key):
        raise ValidationError("key must be printable ASCII without spaces or control characters")
    return key


class ApiKeyService:
    """Store, list, delete and (for the engines) read each user's own provider keys."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def put(self, actor: Actor, provider: str, key: str) -> None:
        """Store ``key`` for ``provider``, replacing the actor's previous one."""
        provider = check_provider(provider)
        key = check_key(key)
        ciphertext = self.box.encrypt(key)
        now = utcnow()
        table = ApiKey.__table__

        def work(orm: OrmSession) -> None:
            orm.execute(
                self.db.upsert(table)
                .values(user_id=actor.id, provider=provider, ciphertext=ciphertext, last4=key[-4:],
                        created_at=now, updated_at=now)
                .on_conflict_do_update(
                    index_elements=[table.c.user_id, table.c.provider],
                    set_={"ciphertext": ciphertext, "last4": key[-4:], "updated_at": now},
                )
            )
            audit.add(orm, Event("api_key.put", actor.id, "api_key", provider, {"provider": provider}))

        self.db.run_write(work)

    def list(self, actor: Actor) -> list[ApiKeyView]:
        """The actor's stored keys (provider order), without the keys."""
        query = (
            select(ApiKey.provider, ApiKey.last4, ApiKey.created_at, ApiKey.updated_at)
            .where(ApiKey.user_id == actor.id).order_by(ApiKey.provider)
        )
        with self.db.read() as orm:
            return [ApiKeyView(*row) for row in orm.execute(query)]

    def delete(self, actor: Actor, provider: str) -> None:
        """Forget the actor's key for ``provider``; NotFoundError if none is stored."""
        provider = check_provider(provider)

        def work(orm: OrmSession) -> int:
            deleted = orm.execute(delete(ApiKey).where(ApiKey.user_id == actor.id, ApiKey.provider == provider))
            return audit.add_if(orm, deleted.rowcount, Event("api_key.delete", actor.id, "api_key", provider))

        if not self.db.run_write(work):
            raise NotFoundError(f"no {provider} key stored")

    def secret(self, actor: Actor, provider: str) -> str | None:
        """The actor's key for ``provider`` in clear (None if none); SecretError if it does not decrypt."""
        provider = check_provider(provider)
        with self.db.read() as orm:
            ciphertext = orm.scalar(
                select(ApiKey.ciphertext).where(ApiKey.user_id == actor.id, ApiKey.provider == provider)
            )
        return None if ciphertext is None else self.box.decrypt(ciphertext)


@dataclass(frozen=True)
class RotationResult:
    """What a rotation did: secrets re-encrypted under the newest key, and those that do not decrypt (left as they are)."""

    rotated: int
    unreadable: int


def rotate_secrets(db: Database, box: SecretBox, batch: int = ROTATION_BATCH) -> RotationResult:
    """Re-encrypt every stored secret under ``box``'s newest key, ``batch`` rows per write transaction.

    Rows are locked while rotated (SQLite's write transaction locks the file; PostgreSQL
    takes row locks), so a key changed meanwhile is never overwritten with its old value.
    """
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise ValidationError(f"batch must be a positive integer, got {shown(batch)}")
    rotated = unreadable = 0
    for pk, column in SECRET_COLUMNS:
        last: Any = None
        while True:
            last, done, failed = db.run_write(lambda orm: _rotate_batch(orm, box, pk, column, last, batch))
            rotated, unreadable = rotated + done, unreadable + failed
            if last is None:
                break
    audit.write(db, Event("keys.rotate", changes={"rotated": rotated, "unreadable": unreadable}))
    return RotationResult(rotated, unreadable)


def _rotate_batch(
    orm: OrmSession, box: SecretBox, pk: Column[Any], column: Column[Any], after: Any, batch: int
) -> tuple[Any, int, int]:
    """Rotate up to ``batch`` rows with a primary key above ``after``: (the last key seen or None, rotated, unreadable)."""
    query = select(pk, column).order_by(pk).limit(batch).with_for_update()
    rows = orm.execute(query if after is None else query.where(pk > after)).all()
    failed = 0
    for row_id, ciphertext in rows:
        try:
            fresh = box.rotate(ciphertext)
        except SecretError:
            failed += 1
            continue
        orm.execute(update(pk.table).where(pk == row_id).values({column: fresh}))
    return (rows[-1][0] if rows else None), len(rows) - failed, failed


def unreadable_secrets(db: Database, box: SecretBox) -> int:
    """How many stored secrets ``box`` cannot decrypt (0 before dropping old master keys)."""
    failed = 0
    with db.read() as orm:
        for _pk, column in SECRET_COLUMNS:
            for ciphertext in orm.scalars(select(column)):
                try:
                    box.decrypt(ciphertext)
                except SecretError:
                    failed += 1
    return failed
