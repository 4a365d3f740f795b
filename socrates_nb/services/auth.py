"""Accounts with passwords, and bearer tokens: register, create, login, refresh, logout, authenticate, me.

Access tokens are short-lived signed JWTs checked on every request with one indexed
query (the user, and whether the token's ``jti`` or its session was revoked). Refresh tokens are
random strings stored as SHA-256 and rotated on every use; presenting a used one
again revokes its whole family (RFC 9700, section 4.14.2). docs/SECURITY.md has the
details.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.errors import (
    ConflictError,
    ForbiddenError,
    MfaRequiredError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
)
from socrates_nb.security import audit
from socrates_nb.security.audit import Event
from socrates_nb.security.crypto import SecretBox
from socrates_nb.security.passwords import PasswordHasher, check_new_password, check_password
from socrates_nb.security.ratelimit import RateLimiter, client_address, login_buckets
from socrates_nb.security.settings import AuthSettings
from socrates_nb.security.tokens import (
    INVALID_ACCESS,
    TokenSigner,
    hash_refresh_token,
    new_refresh_token,
    session_revocation,
)
from socrates_nb.services.accounts import ADMIN_ROLE, ROLES, USERNAME_RE, check_username
from socrates_nb.services.login_sessions import end_session, end_sessions, live_families
from socrates_nb.services.mfa import MfaService
from socrates_nb.services.validation import parse_uuid, shown
from socrates_nb.services.views import Actor, LoginSessionView, TokenPair, UserView, checked_actor
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import MfaSecret, RefreshToken, RevokedToken, User, utcnow

__all__ = ["AuthService", "AuthSettings", "Authenticated", "LoginSessionView", "TokenPair", "UserView"]

INVALID_LOGIN = "invalid username or password"
INVALID_REFRESH = "invalid or expired refresh token"
WRONG_PASSWORD = "the current password is wrong"
LOGIN_LIMITED = "too many failed logins: try again later"
REGISTER_LIMITED = "too many registrations from this address: try again later"
REGISTRATION_CLOSED = (
    "registration is closed on this server (SocratesApp.allow_registration is false): an administrator "
    "creates accounts with `socrates user create NAME` or POST users"
)
MAX_EMAIL_CHARS = 254
MAX_REFRESH_TOKEN_CHARS = 256
MAX_OTP_CHARS = 64
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+")
_ACTOR_QUERY = select(
    User.username, User.role, User.is_active,
    select(RevokedToken.jti).where(RevokedToken.jti.in_([bindparam("jti"), bindparam("session")]))
    .exists().label("revoked"),
).where(User.id == bindparam("user_id"))
"""The user behind an access token and whether the token or its session was revoked (built once: it runs
per request)."""


class _LoginFailed(Exception):
    """A failed login's cause and account, for the audit trail only (the caller sees one message for all)."""

    def __init__(self, reason: str, user_id: uuid.UUID | None = None, shown_as: str = INVALID_LOGIN) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id
        self.shown_as = shown_as


@dataclass(frozen=True)
class Authenticated:
    """A verified access token: who it acts for and its claims (``jti``, ``exp``, ``sid``, ...)."""

    actor: Actor
    claims: Mapping[str, Any]

    @property
    def session_id(self) -> uuid.UUID:
        """The login session (refresh-token family) the token was issued in."""
        return uuid.UUID(self.claims["sid"])


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be text, got {type(value).__name__}")
    return value


def _email(value: object) -> str | None:
    if value is None:
        return None
    email = _text(value, "email")
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(email):
        raise ValidationError(
            f"email must look like name@example.org: one @, no spaces, at most {MAX_EMAIL_CHARS} characters"
        )
    return email


def _new_account(username: object, password: object, email: object) -> tuple[str, str, str | None]:
    """A new account's username, password and email, checked (ValidationError)."""
    return check_username(_text(username, "username")), check_new_password(password), _email(email)


class AuthService:
    """The account and token rules every door uses (the REST extension maps its errors to 401/409/422/429)."""

    def __init__(self, db: Database, settings: AuthSettings) -> None:
        self.db = db
        self.settings = settings
        self._hasher = PasswordHasher(n=settings.scrypt_n)
        self._signer = TokenSigner(
            settings.signing_key(),
            algorithm=settings.algorithm,
            issuer=settings.issuer,
            audience=settings.audience,
            ttl_s=settings.access_ttl_s,
        )
        self.limiter = RateLimiter(db)

    def register(
        self, username: str, password: str, email: str | None = None, client: str | None = None
    ) -> UserView:
        """Create an account; ConflictError if the username is taken, ValidationError for bad input.

        ``client`` is the caller's address: each well-formed attempt from it counts, taken or
        not, and past ``settings.register_max`` per ``register_window_s`` it is refused with
        RateLimitedError. Without ``client`` (CLI, notebooks) there is no limit. ForbiddenError,
        before anything is checked or counted, while ``settings.allow_registration`` is false.
        """
        if not self.settings.allow_registration:
            raise ForbiddenError(REGISTRATION_CLOSED)
        username, password, email = _new_account(username, password, email)
        if client is not None:
            buckets = [f"register:client:{client_address(client)}"]
            refused = Event("auth.rate_limited", changes={"scope": "register", "username": username})
            self.limiter.check(buckets, self.settings.register_max, REGISTER_LIMITED, refused)
            self.limiter.hit(buckets, self.settings.register_window_s, None)  # every attempt counts, none failed
        return self._add_user(username, password, email, "user", "user.register", {"username": username})

    def create_user(
        self, username: str, password: str, email: str | None = None, role: str = "user", by: Actor | None = None
    ) -> UserView:
        """Create an account as an operator (``by`` None: the command line) or as the admin ``by``.

        The input is checked as at registration (ValidationError, ConflictError), ``role`` is
        ``user`` or ``admin``; ``by`` of another role is ForbiddenError. Works while registration
        is closed, and is not rate-limited.
        """
        if by is not None and checked_actor(by).role != ADMIN_ROLE:
            raise ForbiddenError("only an admin may create accounts")
        username, password, email = _new_account(username, password, email)
        if role not in ROLES:
            raise ValidationError(f"role must be one of {', '.join(ROLES)}, not {shown(role)}")
        changes = {"username": username, "role": role, "by": by.username if by is not None else None}
        return self._add_user(username, password, email, role, "user.create", changes)

    def _add_user(
        self, username: str, password: str, email: str | None, role: str, action: str, changes: dict[str, Any]
    ) -> UserView:
        """Store a checked new account and record ``action``; ConflictError if the name is taken."""
        password_hash = self._hasher.hash(password)

        def work(orm: OrmSession) -> UserView:
            if orm.scalar(select(User.id).where(User.username == username)) is not None:
                raise ConflictError(f"username {username!r} is taken")
            row = User(
                id=uuid.uuid4(), username=username, email=email, password_hash=password_hash,
                role=role, is_active=True, created_at=utcnow(),
            )
            orm.add(row)
            orm.flush()
            audit.add(orm, Event(action, row.id, "user", row.id, changes))
            return UserView.of(row)

        try:
            return self.db.run_write(work)
        except IntegrityError:  # created concurrently by another process
            raise ConflictError(f"username {username!r} is taken") from None

    def login(self, username: str, password: str, otp: str | None = None, client: str | None = None) -> TokenPair:
        """A new token pair for the right password; the same UnauthorizedError for any wrong detail.

        Failures are counted per account (also for unknown usernames) and, when ``client``
        (the caller's address) is given, per client address; while either holds
        ``settings.login_max_failures`` failures of the last ``login_window_s`` seconds, every
        login there is refused with RateLimitedError before any password is checked. A
        success clears the account's failures, not the address's.
        """
        username = _text(username, "username")
        password = check_password(password)
        if otp is not None and len(_text(otp, "otp")) > MAX_OTP_CHARS:
            raise ValidationError(f"otp must be at most {MAX_OTP_CHARS} characters long")
        buckets = login_buckets(username, client)
        account = buckets[0]
        refused = Event("auth.rate_limited", changes={"scope": "login", "username": username})
        self.limiter.check(buckets, self.settings.login_max_failures, LOGIN_LIMITED, refused)
        try:
            user_id, stored_hash = self._verify(username, password, otp)
        except _LoginFailed as failed:
            event = Event(
                "auth.login_failed", failed.user_id, "user", failed.user_id,
                {"username": username, "reason": failed.reason},
            )
            if failed.reason == "otp_required":  # the password was right: not counted
                audit.write(self.db, event)
                raise MfaRequiredError("a one-time code is required") from None
            self.limiter.hit(buckets, self.settings.login_window_s, event)
            raise UnauthorizedError(failed.shown_as) from None
        self.limiter.clear(account)
        rehashed = self._hasher.hash(password) if self._hasher.needs_rehash(stored_hash) else None
        refresh_token = new_refresh_token()
        family_id = uuid.uuid4()
        now = utcnow()

        def work(orm: OrmSession) -> None:
            if rehashed is not None:  # stored with older scrypt parameters: upgrade it
                orm.execute(
                    update(User)
                    .where(User.id == user_id, User.password_hash == stored_hash)
                    .values(password_hash=rehashed)
                    .execution_options(synchronize_session=False)
                )
            orm.execute(delete(RefreshToken).where(RefreshToken.user_id == user_id, RefreshToken.expires_at <= now))
            self._add_refresh_token(orm, user_id, family_id, refresh_token, now)
            audit.add(orm, Event("auth.login", user_id, "login_session", family_id, {"mfa": otp is not None}))

        try:
            self.db.run_write(work)
        except IntegrityError:  # the user was deleted meanwhile
            raise UnauthorizedError(INVALID_LOGIN) from None
        return self._pair(user_id, family_id, refresh_token)

    @functools.cached_property
    def mfa(self) -> MfaService:
        """The accounts' TOTP second factor (built on first use: it loads the master keys)."""
        return MfaService(self.db, self.settings, SecretBox.load())

    def _verify(self, username: str, password: str, otp: str | None) -> tuple[uuid.UUID, str]:
        """The user id and stored hash for the right credentials; _LoginFailed (with its cause) otherwise."""
        row = None
        if USERNAME_RE.fullmatch(username):
            with self.db.read() as orm:
                row = orm.execute(
                    select(User.id, User.is_active, User.password_hash, MfaSecret.enabled)
                    .outerjoin(MfaSecret, MfaSecret.user_id == User.id)
                    .where(User.username == username)
                ).one_or_none()
        if row is None or row.password_hash is None:
            self._hasher.verify_dummy(password)  # an unknown user costs what a wrong password costs
            raise _LoginFailed("unknown_user")
        if not self._hasher.verify(password, row.password_hash):
            raise _LoginFailed("wrong_password", row.id)
        if not row.is_active:
            raise _LoginFailed("disabled", row.id)
        if row.enabled:
            if otp is None:
                raise _LoginFailed("otp_required", row.id)
            try:
                self.mfa.verify(row.id, otp)
            except UnauthorizedError as exc:  # the password was right, so the code may be named
                raise _LoginFailed("wrong_otp", row.id, exc.message) from None
        return row.id, row.password_hash

    def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair for a valid refresh token, which dies; a used one revokes its whole family."""
        token = _text(refresh_token, "refresh_token")
        if not token or len(token) > MAX_REFRESH_TOKEN_CHARS:
            raise UnauthorizedError(INVALID_REFRESH)
        token_hash = hash_refresh_token(token)
        successor = new_refresh_token()
        now = utcnow()

        def work(orm: OrmSession) -> tuple[uuid.UUID, uuid.UUID] | None:
            row = orm.execute(
                select(
                    RefreshToken.id, RefreshToken.user_id, RefreshToken.family_id, RefreshToken.expires_at,
                    RefreshToken.rotated_at, RefreshToken.revoked_at, User.is_active,
                )
                .join(User, User.id == RefreshToken.user_id)
                .where(RefreshToken.token_hash == token_hash)
            ).one_or_none()
            if row is None:
                audit.add(orm, Event("auth.refresh_failed", changes={"reason": "unknown_token"}))
                return None
            unused = row.rotated_at is None and row.revoked_at is None
            if unused and (row.expires_at <= now or not row.is_active):
                reason = "expired" if row.is_active else "disabled"
                audit.add(orm, Event("auth.refresh_failed", row.user_id, "login_session", row.family_id, {"reason": reason}))
                return None
            # Exactly one refresh may rotate a token: the update only matches it while unused.
            rotated = orm.execute(
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None), RefreshToken.revoked_at.is_(None))
                .values(rotated_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if rotated != 1:  # used before, or by a concurrent refresh: reuse, so the family dies
                end_session(self.db, orm, row.family_id, now)
                audit.add(orm, Event("auth.refresh_reuse", row.user_id, "login_session", row.family_id))
                return None
            self._add_refresh_token(orm, row.user_id, row.family_id, successor, now)
            audit.add(orm, Event("auth.refresh", row.user_id, "login_session", row.family_id))
            return row.user_id, row.family_id

        issued = self.db.run_write(work)
        if issued is None:
            raise UnauthorizedError(INVALID_REFRESH)
        return self._pair(*issued, successor)

    def logout(self, auth: Authenticated, refresh_token: str | None = None) -> None:
        """End the access token's session (its refresh and access tokens, in every process sharing the
        database) and the refresh token's session if it is another one of the same user."""
        if not isinstance(auth, Authenticated):
            raise ValidationError(f"auth must come from authenticate(), got {type(auth).__name__}")
        token_hash = hash_refresh_token(_text(refresh_token, "refresh_token")) if refresh_token is not None else None
        now = utcnow()

        def work(orm: OrmSession) -> None:
            self._revoke_access(orm, auth, now)
            end_session(self.db, orm, auth.session_id, now)
            if token_hash is not None:
                family = orm.scalar(
                    select(RefreshToken.family_id).where(
                        RefreshToken.token_hash == token_hash, RefreshToken.user_id == auth.actor.id
                    )
                )
                if family is not None and family != auth.session_id:
                    end_session(self.db, orm, family, now)
            audit.add(orm, Event("auth.logout", auth.actor.id, "login_session", auth.session_id))

        self.db.run_write(work)

    def authenticate(self, access_token: str) -> Authenticated:
        """The actor and claims of a valid access token; UnauthorizedError otherwise. One query."""
        claims = self._signer.decode(_text(access_token, "access_token"))
        try:
            user_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
        except (TypeError, ValueError):
            raise UnauthorizedError(INVALID_ACCESS) from None
        revocations = {"jti": claims["jti"], "session": session_revocation(str(session_id))}
        with self.db.read_rows(single_statement=True) as conn:  # Core, not the ORM: this runs on every request
            row = conn.execute(_ACTOR_QUERY, {"user_id": user_id, **revocations}).one_or_none()
        if row is None or not row.is_active:
            raise UnauthorizedError(INVALID_ACCESS)
        if row.revoked:
            raise UnauthorizedError("access token revoked")
        return Authenticated(Actor(user_id, row.username, row.role), claims)

    def me(self, actor: Actor) -> UserView:
        """The actor's account."""
        if not isinstance(actor, Actor):
            raise ValidationError(f"actor must be an Actor, got {type(actor).__name__}")
        with self.db.read() as orm:
            row = orm.get(User, actor.id)
            if row is None or not row.is_active:
                raise UnauthorizedError("unknown or disabled user")
            return UserView.of(row)

    def _pair(self, user_id: uuid.UUID, family_id: uuid.UUID, refresh_token: str) -> TokenPair:
        return TokenPair(self._signer.issue(str(user_id), str(family_id)), refresh_token, self.settings.access_ttl_s)

    def _add_refresh_token(
        self, orm: OrmSession, user_id: uuid.UUID, family_id: uuid.UUID, token: str, now: datetime
    ) -> None:
        orm.add(
            RefreshToken(
                id=uuid.uuid4(), user_id=user_id, family_id=family_id, token_hash=hash_refresh_token(token),
                expires_at=now + timedelta(seconds=self.settings.refresh_ttl_s), created_at=now,
            )
        )
        orm.flush()

    def _revoke_access(self, orm: OrmSession, auth: Authenticated, now: datetime) -> None:
        """Refuse ``auth``'s access token from now on, in every process (and forget expired revocations)."""
        expires_at = datetime.fromtimestamp(auth.claims["exp"], timezone.utc)
        orm.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))  # expired: refused anyway
        orm.execute(
            self.db.upsert(RevokedToken).values(jti=auth.claims["jti"], expires_at=expires_at).on_conflict_do_nothing()
        )

    def disable_user(self, username: str) -> int:
        """Disable an account (an admin operation) and end all its sessions; the number of sessions ended.

        Every refresh-token family is revoked, logins and refreshes are refused, and its access
        tokens are refused from the next request (``authenticate`` checks the account).
        NotFoundError for an unknown username.
        """
        return self._set_active(username, False)

    def enable_user(self, username: str) -> None:
        """Let a disabled account log in again (its old sessions stay ended); NotFoundError for an unknown username."""
        self._set_active(username, True)

    def set_role(self, username: str, role: str) -> None:
        """Make an account an ``admin`` (sees every audit row) or a plain ``user`` again (an admin operation)."""
        if role not in ROLES:
            raise ValidationError(f"role must be one of {', '.join(ROLES)}, not {shown(role)}")
        self._update_user(username, "user.role", {"role": role}, lambda orm, user_id: 0)

    def _set_active(self, username: str, active: bool) -> int:
        now = utcnow()
        action = "user.enable" if active else "user.disable"
        return self._update_user(
            username, action, {"is_active": active},
            lambda orm, user_id: 0 if active else end_sessions(self.db, orm, user_id, now),
        )

    def set_password(self, username: str, password: str) -> int:
        """Give the named account a new password (an operator's command) and end all its sessions;
        how many it ended. The password is checked as at registration; NotFoundError for an unknown name."""
        password_hash = self._hasher.hash(check_new_password(password))
        now = utcnow()
        return self._update_user(
            username, "user.password_set", {"password_hash": password_hash},
            lambda orm, user_id: end_sessions(self.db, orm, user_id, now), changes={},
        )

    def _update_user(
        self, username: str, action: str, values: dict[str, Any], then: Callable[[OrmSession, uuid.UUID], int],
        changes: dict[str, Any] | None = None,
    ) -> int:
        """Set ``values`` on the named account, run ``then`` and record ``action`` with ``changes``
        (default: ``values``), in one transaction."""
        name = _text(username, "username")
        unknown = NotFoundError(f"user {shown(name)} not found")
        if not USERNAME_RE.fullmatch(name):  # no such name was ever registered (and NUL never reaches PostgreSQL)
            raise unknown

        def work(orm: OrmSession) -> int:
            user_id = orm.scalar(update(User).where(User.username == name).values(**values).returning(User.id))
            if user_id is None:
                raise unknown
            result = then(orm, user_id)
            shown_changes = values if changes is None else changes
            audit.add(orm, Event(action, user_id, "user", user_id, {"username": name, **shown_changes}))
            return result

        return self.db.run_write(work)

    def change_password(
        self, auth: Authenticated, current_password: str, new_password: str, client: str | None = None
    ) -> None:
        """Replace the caller's password; then every other session of the account ends (``auth``'s goes on).

        ``new_password`` is checked as at registration (ValidationError). A wrong
        ``current_password`` is UnauthorizedError and counts as a failed login of the account
        (and of ``client``, the caller's address), so guessing is limited as at login.
        """
        if not isinstance(auth, Authenticated):
            raise ValidationError(f"auth must come from authenticate(), got {type(auth).__name__}")
        current = check_password(current_password)
        new = check_new_password(new_password)
        buckets = login_buckets(auth.actor.username, client)
        account = buckets[0]
        refused = Event("auth.rate_limited", auth.actor.id, "user", auth.actor.id, {"scope": "password"})
        self.limiter.check(buckets, self.settings.login_max_failures, LOGIN_LIMITED, refused)
        with self.db.read() as orm:
            stored_hash = orm.scalar(select(User.password_hash).where(User.id == auth.actor.id, User.is_active))
        if stored_hash is None:
            raise UnauthorizedError("unknown or disabled user")
        if not self._hasher.verify(current, stored_hash):
            failed = Event("auth.password_failed", auth.actor.id, "user", auth.actor.id, {"scope": "password"})
            self.limiter.hit(buckets, self.settings.login_window_s, failed)
            raise UnauthorizedError(WRONG_PASSWORD)
        self.limiter.clear(account)
        new_hash = self._hasher.hash(new)
        now = utcnow()

        def work(orm: OrmSession) -> None:
            changed = orm.execute(
                update(User)
                .where(User.id == auth.actor.id, User.password_hash == stored_hash)
                .values(password_hash=new_hash)
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed != 1:
                raise ConflictError("the password was changed meanwhile: log in again")
            ended = end_sessions(self.db, orm, auth.actor.id, now, keep=auth.session_id)
            audit.add(orm, Event("auth.password_change", auth.actor.id, "user", auth.actor.id, {"sessions_ended": ended}))

        self.db.run_write(work)

    def sessions(self, actor: Actor, current: uuid.UUID | None = None) -> list[LoginSessionView]:
        """The actor's live sessions (refresh-token families), newest first; ``current`` is marked."""
        if not isinstance(actor, Actor):
            raise ValidationError(f"actor must be an Actor, got {type(actor).__name__}")
        live = live_families(actor.id, utcnow()).subquery()
        started = (
            select(RefreshToken.family_id, func.min(RefreshToken.created_at).label("created_at"))
            .where(RefreshToken.user_id == actor.id)
            .group_by(RefreshToken.family_id)
            .subquery()
        )
        with self.db.read() as orm:
            rows = orm.execute(
                select(live.c.family_id, started.c.created_at, live.c.last_used_at, live.c.expires_at)
                .join(started, started.c.family_id == live.c.family_id)
                .order_by(started.c.created_at.desc(), live.c.family_id)
            ).all()
        return [LoginSessionView(r.family_id, r.created_at, r.last_used_at, r.expires_at, r.family_id == current)
                for r in rows]

    def revoke_session(self, actor: Actor, session_id: object) -> None:
        """End one of the actor's live sessions (its refresh and access tokens die).

        NotFoundError for anything else: a malformed id, an unknown or ended session, or another user's.
        """
        if not isinstance(actor, Actor):
            raise ValidationError(f"actor must be an Actor, got {type(actor).__name__}")
        family_id = parse_uuid(session_id, "session")
        now = utcnow()

        def work(orm: OrmSession) -> None:
            live = live_families(actor.id, now).where(RefreshToken.family_id == family_id)
            if orm.execute(live).first() is None:
                raise NotFoundError(f"session {family_id} not found")
            end_session(self.db, orm, family_id, now)
            audit.add(orm, Event("auth.session_revoke", actor.id, "login_session", family_id))

        self.db.run_write(work)

