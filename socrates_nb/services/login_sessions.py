"""Login sessions (refresh-token families) and ending them, refresh tokens and access tokens alike.

Every access token names its session (the ``sid`` claim). Ending a session revokes its refresh
tokens and stores ``session:<id>`` in ``revoked_tokens``, which ``authenticate`` checks in its one
query, so the session's access tokens are refused from the next request, in every process. The
row lives as long as the longest access token may (``MAX_ACCESS_TTL_S`` and the clock leeway,
whatever lifetime a process is configured with) and is then deleted with the other expired
revocations.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.security.settings import MAX_ACCESS_TTL_S
from socrates_nb.security.tokens import LEEWAY_S, session_revocation
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import RefreshToken, RevokedToken

ACCESS_HORIZON = timedelta(seconds=MAX_ACCESS_TTL_S + LEEWAY_S)
"""How long an access token may outlive the moment it was issued."""


def live_families(user_id: uuid.UUID, now: datetime) -> Select[Any]:
    """The live (unused, unrevoked, unexpired) refresh token of each of a user's live families."""
    return select(
        RefreshToken.family_id, RefreshToken.created_at.label("last_used_at"), RefreshToken.expires_at
    ).where(
        RefreshToken.user_id == user_id, RefreshToken.rotated_at.is_(None), RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now,
    )


def end_session(db: Database, orm: OrmSession, family_id: uuid.UUID, now: datetime) -> None:
    """End one session: its refresh tokens and its access tokens die."""
    orm.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    _refuse_access(db, orm, [family_id], now)


def end_sessions(
    db: Database, orm: OrmSession, user_id: uuid.UUID, now: datetime, keep: uuid.UUID | None = None
) -> int:
    """End every session of a user but ``keep``; the number of live sessions this ended."""
    others = () if keep is None else (RefreshToken.family_id != keep,)
    live = live_families(user_id, now).where(*others).subquery()
    ended = orm.scalar(select(func.count()).select_from(live)) or 0
    orm.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None), *others)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    recent = orm.scalars(  # the sessions that issued a token some access token may still be alive from
        select(RefreshToken.family_id).distinct()
        .where(RefreshToken.user_id == user_id, RefreshToken.created_at > now - ACCESS_HORIZON, *others)
    ).all()
    _refuse_access(db, orm, recent, now)
    return ended


def _refuse_access(db: Database, orm: OrmSession, family_ids: Iterable[uuid.UUID], now: datetime) -> None:
    rows = [{"jti": session_revocation(str(f)), "expires_at": now + ACCESS_HORIZON} for f in family_ids]
    if rows:
        orm.execute(db.upsert(RevokedToken).values(rows).on_conflict_do_nothing())
