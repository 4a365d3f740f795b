"""Signing keys and signed requests for sensitive operations (ASVS 4.1.5; docs/SECURITY.md, "Signed requests").

A user may create one signing key (``create_key``, which asks for the password again, counted
like a login): its secret is shown once and stored encrypted with the server's ``SecretBox``,
since checking an HMAC needs it. While the key exists, the operations the REST handlers list in
``signed_methods`` need a signature (``verify``); replacing the key means deleting it first,
and that deletion is itself signed, so a stolen bearer token alone can neither skip nor swap it.
Each accepted signature is stored (as its SHA-256) until its timestamp leaves the window; the
primary key makes a second use of it fail, in any number of processes.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Row, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.errors import ConflictError, NotFoundError, UnauthorizedError
from socrates_nb.security import audit, signing
from socrates_nb.security.audit import Event
from socrates_nb.security.crypto import SecretBox
from socrates_nb.security.passwords import check_password
from socrates_nb.services.views import Actor, checked_actor
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import SigningKey, UsedSignature, utcnow

PURGE_BATCH = 1000
"""The most expired signatures one accepted request deletes."""
SECRET_BYTES = 32

Reauthenticate = Callable[[Actor, str, "str | None"], None]


class SigningService:
    """Signing keys of the accounts; ``reauthenticate(actor, password, client)`` checks a password
    (``MfaService.reauthenticate``); ``clock`` gives the Unix time timestamps are checked at."""

    def __init__(
        self, db: Database, box: SecretBox, reauthenticate: Reauthenticate, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.box = box
        self.reauthenticate = reauthenticate
        self.clock = clock

    def create_key(self, actor: Actor, password: str, client: str | None = None) -> str:
        """A new signing secret for the actor (shown once); ConflictError if one exists (delete it first)."""
        actor = checked_actor(actor)
        self.reauthenticate(actor, check_password(password), client)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        statement = (
            self.db.upsert(SigningKey)
            .values(user_id=actor.id, secret_ciphertext=self.box.encrypt(secret), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=[SigningKey.user_id])
            .returning(SigningKey.user_id)
        )
        done = Event("signing_key.create", actor.id, "user", actor.id)
        try:
            stored = self.db.run_write(lambda orm: audit.add_if(orm, orm.execute(statement).first(), done))
        except IntegrityError:  # the account was deleted meanwhile
            raise UnauthorizedError("unknown or disabled user") from None
        if stored is None:
            raise ConflictError("a signing key exists: DELETE auth/signing-key (a signed request) to replace it")
        return secret

    def delete_key(self, actor: Actor) -> None:
        """Forget the actor's signing key (NotFoundError if there is none); the REST route is signed."""
        actor = checked_actor(actor)
        mine = delete(SigningKey).where(SigningKey.user_id == actor.id).execution_options(synchronize_session=False)
        done = Event("signing_key.delete", actor.id, "user", actor.id)
        if not self.db.run_write(lambda orm: audit.add_if(orm, orm.execute(mine).rowcount, done)):
            raise NotFoundError("no signing key to delete")

    def verify(
        self, actor: Actor, method: str, path: str, timestamp: str | None, signature: str | None, body: bytes
    ) -> None:
        """Accept a request of a user without a key; else its signature, once (UnauthorizedError otherwise).

        One primary-key query for a user without a key. ``path`` is the request path without the
        query string, as the server sees it (security/signing.py has the signed text).
        """
        actor = checked_actor(actor)
        with self.db.read() as orm:
            ciphertext = orm.scalar(select(SigningKey.secret_ciphertext).where(SigningKey.user_id == actor.id))
        if ciphertext is None:
            return
        try:
            at = signing.check(self.box.decrypt(ciphertext), method, path, timestamp, signature, body, self.clock())
        except signing.SignatureError as exc:
            audit.write(self.db, _failed(actor, method, path, "invalid"))
            raise UnauthorizedError(str(exc)) from None
        self._use(str(signature).lower(), datetime.fromtimestamp(at + signing.WINDOW_S, timezone.utc),
                  _failed(actor, method, path, "replayed"))

    def _use(self, signature: str, expires_at: datetime, replayed: Event) -> None:
        """Record an accepted signature until ``expires_at``; UnauthorizedError if it was recorded before."""
        digest = hashlib.sha256(signature.encode()).hexdigest()
        record = (
            self.db.upsert(UsedSignature)
            .values(signature_hash=digest, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=[UsedSignature.signature_hash])
            .returning(UsedSignature.signature_hash)
        )
        expired = (
            select(UsedSignature.signature_hash)
            .where(UsedSignature.expires_at <= utcnow())
            .limit(PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )

        def work(orm: OrmSession) -> Row[tuple[str]] | None:
            orm.execute(
                delete(UsedSignature).where(UsedSignature.signature_hash.in_(expired))
                .execution_options(synchronize_session=False)
            )
            used = orm.execute(record).first()
            if used is None:
                audit.add(orm, replayed)
            return used

        if self.db.run_write(work) is None:
            raise UnauthorizedError("this signed request was already used: sign each request with a new timestamp")


def _failed(actor: Actor, method: str, path: str, reason: str) -> Event:
    return Event("auth.signature_failed", actor.id, "user", actor.id, {"method": method, "path": path, "reason": reason})
