"""The ``socrates`` command line: a thin door over the service layer.

Exit codes: 0 ok, 1 a user error (one line on stderr), 2 a usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

import socrates_nb as snb
from socrates_nb.batch import load_answers, run_batch, run_script
from socrates_nb.errors import NotFoundError, SocratesError, ValidationError
from socrates_nb.export import FORMATS
from socrates_nb.logs import configure_logging
from socrates_nb.security import audit
from socrates_nb.services.accounts import ROLES
from socrates_nb.services.api_keys import check_provider
from socrates_nb.services.specs import OPEN_QUESTION_STATUSES
from socrates_nb.services.views import QuestionView, TurnView
from socrates_nb.templates import DEFAULT_TEMPLATE, TEMPLATES
from socrates_nb.workspace import Project, Session, Workspace

if TYPE_CHECKING:
    from socrates_nb.services.auth import AuthService
    from socrates_nb.storage.db import Database


SKIP_COMMAND = ":skip"
DONE_COMMAND = ":done"


class _Context:
    def __init__(self, url: str | None, user: str | None) -> None:
        self.url = url
        self.user = user
        self._ws: Workspace | None = None

    def workspace(self) -> Workspace:
        if self._ws is None:
            self._ws = snb.connect(self.url, user=self.user)
        return self._ws

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()


class _Group(click.Group):
    """Turns every SocratesError into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SocratesError as exc:
            click.echo(f"error: {exc.message}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "url", metavar="URL", help="Database URL (default: $SOCRATES_DATABASE_URL, else the embedded SQLite file).")
@click.option("--user", metavar="NAME", help="Act as this user (default: the operating-system user).")
@click.version_option(snb.__version__, prog_name="socrates")
@click.pass_context
def cli(ctx: click.Context, url: str | None, user: str | None) -> None:
    """socrates: Socratic specification gathering."""
    state = _Context(url, user)
    ctx.obj = state
    ctx.call_on_close(state.close)
    configure_logging()  # from the SOCRATES_LOG_* variables
    origin = audit.request_origin(None, f"socrates-cli/{snb.__version__}")  # what the audit trail records
    ctx.call_on_close(lambda: audit.reset_origin(origin))


def _ws() -> Workspace:
    return click.get_current_context().find_object(_Context).workspace()  # type: ignore[union-attr]


# --- projects -----------------------------------------------------------------------------


@cli.group()
def project() -> None:
    """Create, list and show projects."""


@project.command("create")
@click.argument("name")
@click.option("--description", default="", help="What the software is for.")
@click.option("--template", default=DEFAULT_TEMPLATE, show_default=True, help=f"One of: {', '.join(TEMPLATES)}.")
@click.option("--json", "as_json", is_flag=True, help="Print the project as JSON.")
def project_create(name: str, description: str, template: str, as_json: bool) -> None:
    """Create a project called NAME."""
    p = _ws().create_project(name, description=description, template=template)
    _print_project(p, as_json, created=True)


@project.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--missing-ok", is_flag=True, help="Succeed when there is no such project.")
def project_delete(project_ref: str, missing_ok: bool) -> None:
    """Delete a project (by id or name) and everything recorded in it."""
    try:
        _ws().delete_project(project_ref)
    except NotFoundError:
        if not missing_ok:
            raise
        click.echo(f"No project {project_ref!r}; nothing to delete.")
        return
    click.echo(f"Deleted project {project_ref!r}.")


@project.command("list")
@click.option("--status", default=None, help="Only projects of this status (active, archived).")
@click.option("--offset", default=0, show_default=True, type=int)
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
def project_list(status: str | None, offset: int, limit: int, as_json: bool) -> None:
    """List your projects, newest first."""
    page = _ws().projects(status=status, offset=offset, limit=limit)
    if as_json:
        click.echo(json.dumps({
            "items": [p.view.to_dict() for p in page.items], "total": page.total,
            "offset": page.offset, "limit": page.limit,
        }, indent=2))
        return
    if not page.items:
        click.echo("No projects." if page.total == 0 else f"No projects on this page ({page.total} in all).")
        return
    for p in page.items:
        click.echo(f"{p.id}  {p.template:<13} {p.status:<8} {p.name}")
    shown_to = page.offset + len(page.items)
    click.echo(f"-- {page.offset + 1}-{shown_to} of {page.total}")


@project.command("show")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--json", "as_json", is_flag=True, help="Print the project as JSON.")
def project_show(project_ref: str, as_json: bool) -> None:
    """Show a project (by id or name) with its sessions and maturity."""
    _print_project(_ws().project(project_ref), as_json)


def _print_project(p: Project, as_json: bool, created: bool = False) -> None:
    if as_json:
        view = p.view if created else p.details()
        click.echo(json.dumps({"project": view.to_dict()}, indent=2))
        return
    if created:
        click.echo(f"Created project {p.name!r} ({p.template}) id={p.id}")
        return
    spec = p.specification()
    click.echo(f"{p.name}  [{p.template}, {p.status}]  id={p.id}")
    if p.description:
        click.echo(f"  {p.description}")
    click.echo(f"  maturity {spec.maturity.score:.1f}/100, {len(spec.items)} items, {len(spec.conflicts)} open conflicts")
    for s in p.sessions():
        click.echo(f"  session {s.id}  {s.status:<9} {s.answer_count} answers  started {s.created_at:%Y-%m-%d %H:%M}Z")


# --- sessions -----------------------------------------------------------------------------


@cli.group()
def session() -> None:
    """Run Socratic sessions."""


@session.command("run")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--answers", "answers_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Scripted answers (YAML or JSON): a list answered in order, or {category: [answers]}.")
@click.option("--new", "force_new", is_flag=True, help="Start a new session even if one is active.")
@click.option("--engine", default=None, help="Engine for a new session: offline, anthropic or openai "
              "(default: $SOCRATES_ENGINE, else offline).")
@click.option("--model", default=None, help="Model of an LLM engine (default: $SOCRATES_<PROVIDER>_MODEL).")
@click.option("--base-url", "base_url", default=None, help="Server of an LLM engine, e.g. http://localhost:11434/v1.")
def session_run(
    project_ref: str, answers_file: Path | None, force_new: bool, engine: str | None, model: str | None,
    base_url: str | None,
) -> None:
    """Ask questions about PROJECT and record the answers.

    Interactively, type an answer and press Enter; `:skip` skips a question, `:done`
    completes the session, Ctrl-D saves and exits (resume later with the same command).
    """
    p = _ws().project(project_ref)
    script = load_answers(answers_file) if answers_file else None
    s = _resume_or_start(p, force_new, engine, model, base_url)
    click.echo(f"Session {s.id} on {p.name!r} ({p.template})")
    if script is None:
        _interactive(s, sys.stdin)
    else:
        run_script(s, script, on_question=_show_scripted_question, on_turn=_show_turn)
    spec = p.specification()
    click.echo(f"\nMaturity {spec.maturity.score:.1f}/100 · {len(spec.items)} items · {len(spec.conflicts)} open conflicts")


def _resume_or_start(p: Project, force_new: bool, engine: str | None, model: str | None, base_url: str | None) -> Session:
    if not force_new:
        active = [s for s in p.sessions() if s.status == "active"]
        if active:
            return active[-1]
    return p.start_session(engine=engine, model=model, base_url=base_url)


def _show_question(q: QuestionView) -> None:
    click.echo(f"\nQ{q.seq} [{q.category}] {q.text}")
    click.echo(f"   why: {q.why}")


def _show_scripted_question(q: QuestionView, answer: str) -> None:
    _show_question(q)
    click.echo(f"A: {answer}")


def _show_turn(turn: TurnView) -> None:
    for item in turn.items:
        click.echo(f"   -> {item.ref} {item.text} (confidence {item.confidence:.2f})")
        for f in item.findings:
            click.echo(f"      ! {f['rule']}: {f['message']}")
    for c in turn.conflicts:
        click.echo(f"   !! conflict {c.item_a} vs {c.item_b} ({c.type}, {c.severity}): {c.explanation}")
    for q in turn.open_questions:
        click.echo(f"   ?? open question [{q.category}]: \"{q.answer}\" (not a requirement)")
    for step, reason in turn.fallbacks.items():
        click.echo(f"   (the {step} step fell back to the offline engine: {reason})")
    click.echo(f"   maturity {turn.maturity.score:.1f}")


def _read_answer(stream: TextIO) -> str | None:
    """One line typed by the user (with line editing in a terminal), None at end of input."""
    if stream.isatty():
        import readline  # noqa: F401  (gives input() history and editing)

        try:
            return input("> ")
        except EOFError:
            return None
    click.echo("> ", nl=False)
    line = stream.readline()
    return line if line else None


def _interactive(s: Session, stream: TextIO) -> None:
    q = s.next_question()
    while q is not None:
        _show_question(q)
        line = _read_answer(stream)
        if line is None:
            click.echo("\nSaved. Run the same command to continue this session.")
            return
        text = line.strip()
        if text == SKIP_COMMAND:
            q = s.skip()
            continue
        if text == DONE_COMMAND:
            break
        try:
            turn = s.answer(text, question_id=q.id)
        except ValidationError as exc:
            click.echo(f"error: {exc.message}", err=True)
            continue
        _show_turn(turn)
        q = turn.next_question
    s.complete()
    click.echo("\nSession completed." if q is None else "\nSession completed; unanswered questions remain.")


# --- specification ------------------------------------------------------------------------


@cli.group()
def spec() -> None:
    """Export specifications; list and reopen their open questions."""


@spec.command("export")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
def spec_export(project_ref: str, fmt: str, output: Path | None) -> None:
    """Export the specification of PROJECT."""
    specification = _ws().project(project_ref).specification()
    text = {"md": specification.to_markdown, "json": specification.to_json, "csv": specification.to_csv,
            "html": specification.to_html}[fmt]()
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output} ({len(specification.items)} items)", err=True)


@spec.command("open")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--status", type=click.Choice(OPEN_QUESTION_STATUSES), help="Only open questions of this status.")
def spec_open(project_ref: str, status: str | None) -> None:
    """List the open questions of PROJECT (non-answers kept as gaps), with their ids."""
    found = _ws().project(project_ref).open_questions(status)
    for q in found:
        click.echo(f"{q.id}  {q!r}")
    if not found:
        click.echo("No open questions.")


@spec.command("reopen")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("open_question_id", metavar="ID")
def spec_reopen(project_ref: str, open_question_id: str) -> None:
    """Reopen open question ID of PROJECT: its question may be asked again in the next sessions."""
    q = _ws().project(project_ref).reopen_question(open_question_id)
    click.echo(f"Reopened: {q!r}")


@cli.command("batch")
@click.argument("project_name", metavar="PROJECT")
@click.option("--answers", "answers_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Scripted answers (YAML or JSON).")
@click.option("--output-dir", "-o", default="out", show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--template", default=DEFAULT_TEMPLATE, show_default=True, help="Template if the project is new.")
@click.option("--description", default="", help="Description if the project is new.")
def batch(project_name: str, answers_file: Path, output_dir: Path, template: str, description: str) -> None:
    """Run a scripted session on PROJECT (created if missing) and write its exports and a summary."""
    result = run_batch(_ws(), project_name, answers_file, output_dir, template=template, description=description)
    click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))


# --- users --------------------------------------------------------------------------------


@cli.group()
def user() -> None:
    """Create, disable and enable accounts, set passwords and roles (an administrator's commands: they act on the
    database directly)."""


def _auth() -> AuthService:
    """The account service on the workspace's database (its settings from the SOCRATES_* variables)."""
    from socrates_nb.security.settings import AuthSettings
    from socrates_nb.services.auth import AuthService

    return AuthService(_ws().db, AuthSettings.from_env())


def _new_password(from_stdin: bool) -> str:
    """A password read from one line of stdin, or typed twice at a hidden prompt (never from the command line)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"


_PASSWORD_STDIN = click.option(
    "--password-stdin", "password_stdin", is_flag=True,
    help="Read the password from the first line of stdin instead of a hidden prompt.",
)


@user.command("create")
@click.argument("name")
@click.option("--email", default=None, help="The account's email address.")
@click.option("--role", type=click.Choice(ROLES), default="user", show_default=True)
@_PASSWORD_STDIN
def user_create(name: str, email: str | None, role: str, password_stdin: bool) -> None:
    """Create account NAME with a password (works while SocratesApp.allow_registration is false)."""
    created = _auth().create_user(name, _new_password(password_stdin), email=email, role=role)
    click.echo(f"created {created.username} ({created.role})")


@user.command("set-password")
@click.argument("name")
@_PASSWORD_STDIN
def user_set_password(name: str, password_stdin: bool) -> None:
    """Give account NAME a new password and end all its sessions."""
    ended = _auth().set_password(name, _new_password(password_stdin))
    click.echo(f"set the password of {name}; {_sessions(ended)} ended")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Disable account NAME and end all its sessions (its tokens are refused from the next request)."""
    ended = _auth().disable_user(name)
    click.echo(f"disabled {name}; {_sessions(ended)} ended")


@user.command("enable")
@click.argument("name")
def user_enable(name: str) -> None:
    """Let the disabled account NAME log in again."""
    _auth().enable_user(name)
    click.echo(f"enabled {name}")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
def user_role(name: str, role: str) -> None:
    """Give account NAME the ROLE admin (reads every user's audit rows) or user."""
    _auth().set_role(name, role)
    click.echo(f"{name} is now {'an' if role == 'admin' else 'a'} {role}")


# --- audit trail --------------------------------------------------------------------------


@cli.group("audit")
def audit_group() -> None:
    """Read the audit trail (every user's rows: an administrator's command)."""


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True,
              help="JSON lines: one object per row, oldest first.")
@click.option("--since", metavar="TIME", help="Only rows at or after TIME (ISO-8601 with a zone, e.g. 2026-11-26T09:00:00Z).")
@click.option("--action", metavar="ACTION", help="Only rows of ACTION (e.g. auth.login_failed).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file (default: stdout).")
def audit_export(fmt: str, since: str | None, action: str | None, output: Path | None) -> None:
    """Export the audit trail."""
    from socrates_nb.services.audit import AuditService, check_action, check_since

    # checked before any file is opened (an empty value is an error, not "no filter")
    action = None if action is None else check_action(action)
    since_at = None if since is None else check_since(since)
    service = AuditService(_ws().db)
    if output is None:
        service.export(sys.stdout, action=action, since=since_at)
        return
    with output.open("w", encoding="utf-8") as out:
        written = service.export(out, action=action, since=since_at)
    click.echo(f"wrote {written} audit row{'s' if written != 1 else ''} to {output}", err=True)


# --- master keys --------------------------------------------------------------------------

ENV_ROTATION = (
    "the master keys come from $SOCRATES_MASTER_KEY, which this command cannot change: put a new key first "
    "in it (comma-separated, old keys after it), restart the servers, then run `socrates keys rotate "
    "--reencrypt-only`; make a key with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


def _database() -> "Database":
    """The database named by --db, else $SOCRATES_DATABASE_URL, else the embedded SQLite file."""
    from socrates_nb.config import Settings
    from socrates_nb.storage.db import Database

    state = click.get_current_context().find_object(_Context)
    assert state is not None
    return Database(Settings.from_env(state.url).database_url)


@cli.group()
def keys() -> None:
    """Manage the master keys that encrypt stored secrets (API keys, TOTP secrets)."""


@keys.command("rotate")
@click.option("--reencrypt-only", is_flag=True,
              help="Add no key: re-encrypt under the newest key already listed (finishes an interrupted "
                   "rotation, or one whose new key was put first in $SOCRATES_MASTER_KEY).")
@click.option("--drop-old", is_flag=True,
              help="Then remove the older keys from the key file (refused unless every secret opens with the newest).")
def keys_rotate(reencrypt_only: bool, drop_old: bool) -> None:
    """Add a new master key and re-encrypt every stored secret under it.

    Old ciphertext keeps opening until the rotation completes (every listed key decrypts);
    restart running servers afterwards so they encrypt with the new key too.
    """
    import os

    from socrates_nb.config import data_dir
    from socrates_nb.errors import ConfigError
    from socrates_nb.security.crypto import (
        MASTER_KEY_ENV, MASTER_KEY_FILE_NAME, SecretBox, SecretError, add_master_key, drop_old_master_keys,
    )
    from socrates_nb.services.api_keys import rotate_secrets, unreadable_secrets
    from socrates_nb.storage.migrate import ensure_schema

    from_env = MASTER_KEY_ENV in os.environ
    if from_env and not reencrypt_only:
        raise ConfigError(ENV_ROTATION)
    key_file = data_dir() / MASTER_KEY_FILE_NAME
    database = _database()
    try:
        ensure_schema(database)
        if not reencrypt_only:
            add_master_key(key_file)
        box = SecretBox.load()
        result = rotate_secrets(database, box)
        click.echo(f"rotated {result.rotated} secrets; master keys: {box.key_count}")
        if drop_old and box.key_count > 1:
            left = unreadable_secrets(database, box.newest_only())
            if left:
                raise SecretError(
                    f"not dropping the old master keys: {left} secret(s) do not open with the newest key alone "
                    "(altered, or written meanwhile by a server that has not been restarted)"
                )
            if from_env:
                click.echo(f"every secret opens with the newest key: remove the other {box.key_count - 1} "
                           f"from ${MASTER_KEY_ENV}")
            else:
                drop_old_master_keys(key_file)
                click.echo(f"dropped {box.key_count - 1} old master key(s); master keys: 1")
        if result.unreadable:
            raise SecretError(f"{result.unreadable} stored secret(s) open with no master key (altered, or their key "
                              "is gone): left as they are")
    finally:
        database.dispose()


# --- LLM API keys and usage ---------------------------------------------------------------


@cli.group("api-key")
def api_key() -> None:
    """Your LLM providers' API keys (stored encrypted; the LLM engines use them, docs/LLM.md)."""


@api_key.command("set")
@click.argument("provider")
def api_key_set(provider: str) -> None:
    """Store your key of PROVIDER (anthropic or openai), read from the terminal (hidden) or stdin."""
    check_provider(provider)
    if sys.stdin.isatty():
        key = click.prompt(f"{provider} API key", hide_input=True)
    else:
        key = sys.stdin.readline().strip()
    _ws().set_api_key(provider, key)
    click.echo(f"stored the {provider} key (ends in {key[-4:]})")


@api_key.command("list")
def api_key_list() -> None:
    """Your stored keys: provider and last 4 characters only."""
    keys = _ws().api_keys()
    for k in keys:
        click.echo(f"{k.provider}\t…{k.last4}\tupdated {k.updated_at:%Y-%m-%d %H:%M} UTC")
    if not keys:
        click.echo("no API keys stored")


@api_key.command("delete")
@click.argument("provider")
def api_key_delete(provider: str) -> None:
    """Forget your key of PROVIDER."""
    _ws().delete_api_key(provider)
    click.echo(f"deleted the {provider} key")


@cli.command("usage")
@click.option("--since", default=None, metavar="TIME", help="Only calls at or after this ISO-8601 time (with a zone).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of GET usage.")
def usage(since: str | None, as_json: bool) -> None:
    """Your LLM calls, tokens and estimated cost per provider, model and project."""
    view = _ws().usage(since)
    click.echo(json.dumps(view.to_dict(), indent=2) if as_json else repr(view))


# --- health -------------------------------------------------------------------------------


@cli.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (with each check's detail).")
@click.option("--timeout", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds each check may take before it counts as degraded.")
def health(as_json: bool, timeout: float) -> None:
    """Check the database, its schema, the cache, LLM providers, disk and memory, as GET health does.

    Exit code 0 when ok or degraded (a warning line on stderr), 1 when down.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from socrates_nb.services.health import DEGRADED, DOWN, HealthService

    try:
        database = _database()
    except (OSError, SQLAlchemyError) as exc:  # e.g. a SQLite path whose folder cannot be made
        click.echo(f"error: health down: cannot open the database: {exc}", err=True)
        sys.exit(1)
    service = HealthService(database, timeout_s=timeout)
    try:
        report = service.run()
    finally:
        service.close()
        database.dispose()
    if as_json:
        click.echo(json.dumps(report.to_dict(detail=True), indent=2))
    else:
        click.echo(f"socrates_nb {report.version}: {report.status}")
        for name, result in report.checks.items():
            click.echo(f"  {name:<11} {result.status:<9} {result.detail}  ({result.duration_ms:g} ms)")
    failing = ", ".join(name for name, result in report.checks.items() if result.status == report.status)
    if report.status == DOWN:
        click.echo(f"error: health down: {failing}", err=True)
        sys.exit(1)
    if report.status == DEGRADED:
        click.echo(f"warning: health degraded: {failing}", err=True)


# --- database -----------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Manage the database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the newest revision."""
    from socrates_nb.storage.migrate import upgrade

    database = _database()
    try:
        before, after = upgrade(database)
    finally:
        database.dispose()
    where = database.url.render_as_string(hide_password=True)
    click.echo(f"{where}: already at {after}" if before == after else f"{where}: upgraded {before or 'empty'} -> {after}")


def main() -> None:
    """Entry point of the ``socrates`` console script."""
    cli(prog_name="socrates")
