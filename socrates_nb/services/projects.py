"""Projects: create, list (paged, newest first), read with sessions."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import selectinload

from socrates_nb.cache import ReadCache
from socrates_nb.errors import ConflictError, PreconditionFailedError, ValidationError
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
            for field, value in changes.items():
                setattr(row, field, value)
            row.version += 1
            orm.flush()
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
            orm.delete(owned_project(orm, actor, ref, lock=True))

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
            with self.db.read() as orm:
                where = [models.Project.user_id == actor.id]
                if status is not None:
                    where.append(models.Project.status == status)
                if name_contains is not None:
                    where.append(models.Project.name.icontains(name_contains, autoescape=True))
                total = orm.scalar(select(func.count()).select_from(models.Project).where(*where)) or 0
                rows = orm.scalars(
                    select(models.Project)
                    .where(*where)
                    .order_by(models.Project.created_at.desc(), models.Project.id.desc())
                    .offset(offset)
                    .limit(limit)
                ).all()
                return Page(tuple(ProjectView.of(r) for r in rows), total, offset, limit)

        return self.cache.get_or_load((actor.id, "projects", status, offset, limit, name_contains), load)

    def get(self, actor: Actor, ref: str | uuid.UUID, include_sessions: bool = False) -> ProjectView:
        """The actor's project by id or name; its sessions come in one extra query when asked for."""

        def load() -> ProjectView:
            with self.db.read() as orm:
                options = [selectinload(models.Project.sessions)] if include_sessions else []
                row = owned_project(orm, actor, ref, options=options)
                return ProjectView.of(row, with_sessions=include_sessions)

        return self.cache.get_or_load((actor.id, "project", str(ref), include_sessions), load)
