"""Projects: create, list (paged, newest first), read with sessions."""

from __future__ import annotations

import functools
import uuid
from dataclasses import fields
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import selectinload

from socrates_nb.cache import ReadCache
from socrates_nb.errors import ConflictError, PreconditionFailedError, ValidationError
from socrates_nb.security import audit
from socrates_nb.security.audit import Event
from socrates_nb.services.access import owned_project
from socrates_nb.services.validation import (
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    clean_text,
    page_bounds,
    project_status,
)
from socrates_nb.services.views import Actor, Page, ProjectView
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.templates import DEFAULT_TEMPLATE, get_template


_VIEW_COLUMNS = tuple(
    getattr(models.Project, f.name) for f in fields(ProjectView) if f.name != "sessions"
)
"""The project columns a ProjectView holds, in its field order."""


def _page_of(query: Select[Any]) -> Select[Any]:
    """Newest first, from ``:offset``, at most ``:limit`` rows."""
    order = (models.Project.created_at.desc(), models.Project.id.desc())
    return query.order_by(*order).offset(bindparam("offset")).limit(bindparam("limit"))


@functools.cache
def _list_statements(by_status: bool) -> tuple[Select[Any], Select[Any]]:
    """The total (from the kept counts, not a count of the rows) and the page of a project list.

    Built once per shape: statement construction costs more than running them.
    """
    counted, listed = models.ProjectCount, models.Project
    count_where = [counted.user_id == bindparam("user_id")]
    page_where = [listed.user_id == bindparam("user_id")]
    if by_status:
        count_where.append(counted.status == bindparam("status"))
        page_where.append(listed.status == bindparam("status"))
    count = select(func.coalesce(func.sum(counted.n), 0)).where(*count_where)
    return count, _page_of(select(*_VIEW_COLUMNS).where(*page_where))


def recount_projects(db: Database) -> None:
    """Recompute every kept project count from the project rows (after a bulk load that bypassed the service)."""
    table = models.ProjectCount.__table__
    with db.write() as orm:
        orm.execute(table.delete())
        orm.execute(table.insert().from_select(
            ["user_id", "status", "n"],
            select(models.Project.user_id, models.Project.status, func.count()).group_by(
                models.Project.user_id, models.Project.status
            ),
        ))


class ProjectService:
    """Ownership-checked project operations with cached reads."""

    def __init__(self, db: Database, cache: ReadCache) -> None:
        self.db = db
        self.cache = cache

    def create(self, actor: Actor, name: str, description: str = "", template: str = DEFAULT_TEMPLATE) -> ProjectView:
        """Create a project; its name must be unique among the actor's projects."""
        name = clean_text(name, "name", MAX_NAME_CHARS)
        description = clean_text(description, "description", MAX_DESCRIPTION_CHARS, allow_empty=True)
        get_template(template)

        def work(orm: OrmSession) -> ProjectView:
            if orm.scalar(select(models.Project.id).where(models.Project.user_id == actor.id, models.Project.name == name)):
                raise ConflictError(f"a project named {name!r} already exists")
            row = models.Project(id=uuid.uuid4(), user_id=actor.id, name=name, description=description, template=template)
            orm.add(row)
            orm.flush()
            self._count(orm, actor.id, row.status, +1)
            audit.add(orm, Event("project.create", actor.id, "project", row.id, {"name": name, "template": template}))
            return ProjectView.of(row)

        try:
            view = self.db.run_write(work)
        except IntegrityError:  # a concurrent create won the race for the name
            raise ConflictError(f"a project named {name!r} already exists") from None
        self.cache.invalidate(actor.id, "projects")
        return view

    def update(
        self, actor: Actor, ref: str | uuid.UUID, *, name: str | None = None, description: str | None = None,
        status: str | None = None, expected_version: int | None = None,
    ) -> ProjectView:
        """Change the name, description or status of the actor's project; its ``version`` goes up by one.

        With ``expected_version``, a project changed meanwhile is refused (PreconditionFailedError).
        """
        changes: dict[str, str] = {}
        if name is not None:
            changes["name"] = clean_text(name, "name", MAX_NAME_CHARS)
        if description is not None:
            changes["description"] = clean_text(description, "description", MAX_DESCRIPTION_CHARS, allow_empty=True)
        if status is not None:
            changes["status"] = project_status(status)
        if not changes:
            raise ValidationError("nothing to change: give name, description or status")
        if expected_version is not None and (type(expected_version) is not int or expected_version < 1):
            raise ValidationError(f"expected_version must be a positive integer, not {expected_version!r}")

        def work(orm: OrmSession) -> ProjectView:
            row = owned_project(orm, actor, ref, lock=True)
            if expected_version is not None and row.version != expected_version:
                raise PreconditionFailedError(
                    f"project {row.name!r} changed meanwhile (version {row.version}, not {expected_version})"
                )
            if "name" in changes and changes["name"] != row.name and orm.scalar(
                select(models.Project.id).where(models.Project.user_id == actor.id, models.Project.name == changes["name"])
            ):
                raise ConflictError(f"a project named {changes['name']!r} already exists")
            if changes.get("status", row.status) != row.status:
                self._count(orm, actor.id, row.status, -1)
                self._count(orm, actor.id, changes["status"], +1)
            for field, value in changes.items():
                setattr(row, field, value)
            row.version += 1
            orm.flush()
            audit.add(orm, Event("project.update", actor.id, "project", row.id, {**changes, "version": row.version}))
            return ProjectView.of(row)

        try:
            view = self.db.run_write(work)
        except IntegrityError:  # a concurrent rename won the race for the name
            raise ConflictError(f"a project named {changes['name']!r} already exists") from None
        self.cache.invalidate(actor.id)
        return view

    def delete(self, actor: Actor, ref: str | uuid.UUID) -> None:
        """Delete the actor's project with its sessions, answers, items and conflicts."""

        def work(orm: OrmSession) -> None:
            row = owned_project(orm, actor, ref, lock=True)
            self._count(orm, actor.id, row.status, -1)
            orm.delete(row)
            audit.add(orm, Event("project.delete", actor.id, "project", row.id, {"name": row.name}))

        self.db.run_write(work)
        self.cache.invalidate(actor.id)

    def list(
        self, actor: Actor, status: str | None = None, offset: int = 0, limit: int = 20,
        name_contains: str | None = None,
    ) -> Page[ProjectView]:
        """A page of the actor's projects, newest first, optionally of one status.

        ``name_contains`` keeps projects whose name contains it, ignoring case (blank: no filter).
        """
        offset, limit = page_bounds(offset, limit)
        if status is not None:
            project_status(status)
        if name_contains is not None:
            name_contains = clean_text(name_contains, "name_contains", MAX_NAME_CHARS, allow_empty=True) or None

        def load() -> Page[ProjectView]:
            params = {"user_id": actor.id, "status": status, "offset": offset, "limit": limit}
            if name_contains is None:
                count, page = _list_statements(status is not None)
            else:  # a search: count the matching rows
                where = [models.Project.user_id == actor.id, models.Project.name.icontains(name_contains, autoescape=True)]
                if status is not None:
                    where.append(models.Project.status == status)
                count = select(func.count()).select_from(models.Project).where(*where)
                page = _page_of(select(*_VIEW_COLUMNS).where(*where))
            with self.db.read_rows() as conn:  # Core, not the ORM: the list is the busiest read
                total = conn.scalar(count, params)
                rows = conn.execute(page, params).all()
            return Page(tuple(ProjectView(*r) for r in rows), int(total or 0), offset, limit)

        return self.cache.get_or_load((actor.id, "projects", status, offset, limit, name_contains), load)

    def get(self, actor: Actor, ref: str | uuid.UUID, include_sessions: bool = False) -> ProjectView:
        """The actor's project by id or name; its sessions come in one extra query when asked for."""

        def load() -> ProjectView:
            with self.db.read() as orm:
                options = [selectinload(models.Project.sessions)] if include_sessions else []
                row = owned_project(orm, actor, ref, options=options)
                return ProjectView.of(row, with_sessions=include_sessions)

        return self.cache.get_or_load((actor.id, "project", str(ref), include_sessions), load)

    def _count(self, orm: OrmSession, user_id: uuid.UUID, status: str, delta: int) -> None:
        """Move the user's kept count of projects in ``status`` by ``delta`` (same transaction as the change)."""
        table = models.ProjectCount
        orm.execute(
            self.db.upsert(table)
            .values(user_id=user_id, status=status, n=delta)
            .on_conflict_do_update(index_elements=[table.user_id, table.status], set_={"n": table.n + delta})
        )
