"""Multi-factor authentication with TOTP (RFC 6238): set up, enable, disable, and check a code at login.

Setting up (password required again) stores a new secret, encrypted with ``SecretBox``, and
ten backup codes as keyed hashes, not yet enabled; enabling needs a code from the
authenticator, which proves it holds the secret, and ends the account's other sessions (one
that was stolen before must not outlive the new factor). Each TOTP time step is accepted once per
account: ``mfa_secrets.last_used_step`` only grows, through a conditional UPDATE whose row
count says whether this request won, so two logins with the same code (in any processes)
cannot both pass. A backup code is burnt under a row lock (``FOR UPDATE``; SQLite's write
transactions are serial anyway). Wrong codes count in the login rate limiter, per account.
docs/SECURITY.md ("Two-factor login (TOTP)") has the rules.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.errors import ConflictError, UnauthorizedError, ValidationError
from socrates_nb.security import audit, totp
from socrates_nb.security.audit import Event
from socrates_nb.security.crypto import SecretBox
from socrates_nb.security.passwords import PasswordHasher, check_password
from socrates_nb.security.ratelimit import RateLimiter, login_buckets
from socrates_nb.security.settings import AuthSettings
from socrates_nb.services.login_sessions import end_sessions
from socrates_nb.services.views import Actor, checked_actor
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import MfaSecret, User, utcnow

INVALID_CODE = "invalid one-time code"
WRONG_PASSWORD = "wrong password"
CODES_LIMITED = "too many wrong one-time codes: try again later"
PASSWORD_LIMITED = "too many failed logins: try again later"
MAX_CODE_CHARS = 64


@dataclass(frozen=True)
class MfaSetup:
    """A new, not yet enabled, TOTP secret: shown once, never again."""

    secret: str
    otpauth_uri: str
    backup_codes: list[str]

    def to_dict(self) -> dict[str, object]:
        """The REST shape: ``{secret, otpauth_uri, backup_codes}``."""
        return {"secret": self.secret, "otpauth_uri": self.otpauth_uri, "backup_codes": list(self.backup_codes)}


@dataclass(frozen=True)
class _Code:
    """A one-time code as sent: a TOTP code, or a backup code in canonical form."""

    value: str
    is_backup: bool


def _code(value: object, backup_ok: bool = True) -> _Code:
    if not isinstance(value, str):
        raise ValidationError(f"otp must be text, got {type(value).__name__}")
    if len(value) > MAX_CODE_CHARS:
        raise ValidationError(f"otp must be at most {MAX_CODE_CHARS} characters long")
    if totp.is_totp_code(value):
        return _Code(value, is_backup=False)
    backup = totp.normalized_backup_code(value) if backup_ok else None
    if backup is None:
        also = " or a backup code like abcde-fghij" if backup_ok else ""
        raise ValidationError(f"otp must be a {totp.DIGITS}-digit code{also}")
    return _Code(backup, is_backup=True)


Done = Callable[[OrmSession], None]
"""What else happens in the transaction that uses a code (enabling ends the other sessions)."""


def _then(orm: OrmSession, used: bool, done: Done | None) -> bool:
    if used and done is not None:
        done(orm)
    return used


class MfaService:
    """TOTP second factor of the accounts; ``clock`` gives the Unix time the codes are checked at."""

    def __init__(
        self, db: Database, settings: AuthSettings, box: SecretBox, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.settings = settings
        self.box = box
        self.clock = clock
        self.limiter = RateLimiter(db)
        self._hasher = PasswordHasher(n=settings.scrypt_n)

    def setup(self, actor: Actor, password: str, client: str | None = None) -> MfaSetup:
        """A new secret and backup codes for the actor, replacing a setup not yet enabled.

        The password is checked like a login (a wrong one counts as a failed login of the
        account and of ``client``); ConflictError while MFA is enabled.
        """
        actor = checked_actor(actor)
        self.reauthenticate(actor, check_password(password), client)
        secret = totp.new_secret()
        codes = totp.new_backup_codes()
        values = {
            "secret_ciphertext": self.box.encrypt(secret), "enabled": False, "last_used_step": None,
            "backup_code_hashes": [totp.hash_backup_code(secret, code) for code in codes],
            "created_at": utcnow(),
        }
        statement = (
            self.db.upsert(MfaSecret)
            .values(user_id=actor.id, **values)
            .on_conflict_do_update(index_elements=[MfaSecret.user_id], set_=values, where=MfaSecret.enabled.is_(False))
            .returning(MfaSecret.user_id)  # no row when an enabled secret is there
        )
        done = Event("mfa.setup", actor.id, "user", actor.id)
        try:
            stored = self.db.run_write(lambda orm: audit.add_if(orm, orm.execute(statement).first(), done))
        except IntegrityError:  # the account was deleted meanwhile
            raise UnauthorizedError("unknown or disabled user") from None
        if stored is None:
            raise ConflictError("MFA is already enabled: disable it before setting it up again")
        return MfaSetup(secret, totp.provisioning_uri(secret, actor.username), codes)

    def enable(self, actor: Actor, otp: str, keep_session: uuid.UUID | None = None) -> None:
        """Enable the pending setup with a current TOTP code (UnauthorizedError if wrong, counted).

        Every session of the account ends but ``keep_session`` (the caller's, over REST), in the
        transaction that enables MFA.
        """
        actor = checked_actor(actor)
        if keep_session is not None and not isinstance(keep_session, uuid.UUID):
            raise ValidationError(f"keep_session must be a UUID, got {type(keep_session).__name__}")
        code = _code(otp, backup_ok=False)
        state = self._enabled(actor.id)
        if state is None:
            raise ConflictError("no MFA setup to enable: POST auth/mfa/setup first")
        if state:
            raise ConflictError("MFA is already enabled")

        def done(orm: OrmSession) -> None:
            ended = end_sessions(self.db, orm, actor.id, utcnow(), keep=keep_session)
            audit.add(orm, Event("mfa.enable", actor.id, "user", actor.id, {"sessions_ended": ended}))

        self._verify(actor.id, code, enabled=False, done=done)

    def disable(self, actor: Actor, password: str, otp: str, client: str | None = None) -> None:
        """Turn MFA off and delete the secret; needs the password and a TOTP or unused backup code."""
        actor = checked_actor(actor)
        password = check_password(password)
        code = _code(otp)
        self.reauthenticate(actor, password, client)
        if not self._enabled(actor.id):
            raise ConflictError("MFA is not enabled")
        self._verify(actor.id, code, enabled=True)

        def work(orm: OrmSession) -> None:
            orm.execute(delete(MfaSecret).where(MfaSecret.user_id == actor.id))
            audit.add(orm, Event("mfa.disable", actor.id, "user", actor.id))

        self.db.run_write(work)

    def verify(self, user_id: uuid.UUID, otp: str) -> None:
        """Accept a TOTP code (once) or an unused backup code (burnt) of an account with MFA enabled.

        ValidationError for a code of the wrong form (not counted); UnauthorizedError for a
        wrong, used or expired one; RateLimitedError after ``settings.login_max_failures``
        wrong codes in ``login_window_s``.
        """
        if not isinstance(user_id, uuid.UUID):
            raise ValidationError(f"user_id must be a UUID, got {type(user_id).__name__}")
        self._verify(user_id, _code(otp), enabled=True, audited=False)  # the login records its own failure

    def _verify(
        self, user_id: uuid.UUID, code: _Code, enabled: bool, done: Done | None = None, audited: bool = True
    ) -> None:
        """Use ``code`` (running ``done`` with the use) or count and raise; a failure is audited unless the caller
        records it."""
        buckets = [f"mfa:user:{user_id}"]
        refused = Event("auth.rate_limited", user_id, "user", user_id, {"scope": "mfa"})
        self.limiter.check(buckets, self.settings.login_max_failures, CODES_LIMITED, refused)
        if not self._consume(user_id, code, enabled, done):
            failed = Event("mfa.code_failed", user_id, "user", user_id, {"backup": code.is_backup})
            self.limiter.hit(buckets, self.settings.login_window_s, failed if audited else None)
            raise UnauthorizedError(INVALID_CODE)
        self.limiter.clear(buckets[0])

    def _consume(self, user_id: uuid.UUID, code: _Code, enabled: bool, done: Done | None) -> bool:
        """Use ``code`` up if it is valid for the account's secret (in the state ``enabled``); whether it was.

        A TOTP code also enables the secret (a no-op once enabled); ``done`` runs in the use's transaction.
        """
        with self.db.read() as orm:
            ciphertext = orm.scalar(
                select(MfaSecret.secret_ciphertext).where(MfaSecret.user_id == user_id, MfaSecret.enabled == enabled)
            )
        if ciphertext is None:
            return False
        secret = self.box.decrypt(ciphertext)
        mine = (MfaSecret.user_id == user_id, MfaSecret.secret_ciphertext == ciphertext)  # not replaced meanwhile
        if not code.is_backup:
            step = totp.matching_step(secret, code.value, self.clock())
            if step is None:
                return False
            # only a step after the last used one: of concurrent requests with one code, one updates the row
            used = (
                update(MfaSecret)
                .where(*mine, or_(MfaSecret.last_used_step.is_(None), MfaSecret.last_used_step < step))
                .values(last_used_step=step, enabled=True)
                .execution_options(synchronize_session=False)
            )
            return self.db.run_write(lambda orm: _then(orm, orm.execute(used).rowcount == 1, done))
        hashed = totp.hash_backup_code(secret, code.value)

        def burn(orm: OrmSession) -> bool:
            hashes = orm.scalar(select(MfaSecret.backup_code_hashes).where(*mine).with_for_update())
            if not hashes or hashed not in hashes:
                return False
            orm.execute(
                update(MfaSecret).where(*mine).values(backup_code_hashes=[h for h in hashes if h != hashed])
                .execution_options(synchronize_session=False)
            )
            return _then(orm, True, done)

        return self.db.run_write(burn)

    def _enabled(self, user_id: uuid.UUID) -> bool | None:
        """Whether the account's MFA is enabled; None without any setup."""
        with self.db.read() as orm:
            return orm.scalar(select(MfaSecret.enabled).where(MfaSecret.user_id == user_id))

    def reauthenticate(self, actor: Actor, password: str, client: str | None) -> None:
        """Re-authentication: the actor's password, limited and counted like a login (UnauthorizedError if wrong)."""
        buckets = login_buckets(actor.username, client)
        refused = Event("auth.rate_limited", actor.id, "user", actor.id, {"scope": "reauthenticate"})
        self.limiter.check(buckets, self.settings.login_max_failures, PASSWORD_LIMITED, refused)
        with self.db.read() as orm:
            stored = orm.scalar(select(User.password_hash).where(User.id == actor.id, User.is_active.is_(True)))
        if stored is None:
            self._hasher.verify_dummy(password)
        if stored is None or not self._hasher.verify(password, stored):
            failed = Event("auth.password_failed", actor.id, "user", actor.id, {"scope": "reauthenticate"})
            self.limiter.hit(buckets, self.settings.login_window_s, failed)
            raise UnauthorizedError(WRONG_PASSWORD)

