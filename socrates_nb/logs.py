"""Structured logs (structlog): JSON lines to a rotating file, readable lines on the console.

``configure_logging`` is the one configuration: the Jupyter extension, the CLI and notebooks
(``snb.connect``) call it. Every event carries an ISO-8601 UTC timestamp, its level, the
logger's name, the event, and the context bound for the work in progress (the request id,
route, user, project or session: ``structlog.contextvars``). Two processors guard every line:
``redact`` replaces secrets (by field name, and bearer tokens and JWTs anywhere in a value),
and the console escapes CR, LF and other control characters, so user text cannot forge a line
(the JSON file escapes them, and every non-ASCII character, by its encoding).
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import os
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, MutableMapping

import structlog

from socrates_nb.config import data_dir, make_private_dirs, open_private_file, warn_if_shared
from socrates_nb.errors import ConfigError

LOGGER_NAME = "socrates_nb"
LOG_FILE_NAME = "socrates_nb.log"
REDACTED = "[redacted]"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SECRET_WORDS = frozenset({
    "password", "passwd", "passphrase", "token", "tokens", "secret", "secrets", "otp", "apikey", "authorization",
    "authorisation", "signature", "cookie", "cookies", "credential", "credentials",
})
_SECRET_PAIRS = frozenset({("api", "key"), ("backup", "code"), ("backup", "codes"), ("private", "key")})
_SECRET_TEXT = re.compile(
    r"(?i)\bbearer\s+[\w.~+/=-]+"  # an Authorization header's value
    r"|\beyJ[\w-]{4,}\.[\w-]{4,}(\.[\w-]*)?"  # a JWT (header.payload.signature), or its first two parts
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_CONFIGURED: list["LogSettings"] = []


@dataclass(frozen=True)
class LogSettings:
    """Where logs go: ``file`` (None: no file) from ``level`` up, the console (stderr) from ``console_level`` up."""

    level: str = "INFO"
    file: Path | None = None
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 5
    console_level: str = "WARNING"

    def __post_init__(self) -> None:
        for name in ("level", "console_level"):
            if getattr(self, name) not in LEVELS:
                raise ConfigError(f"{name}: expected one of {', '.join(LEVELS)}, got {getattr(self, name)!r}")
        if type(self.max_bytes) is not int or self.max_bytes < 1024:
            raise ConfigError(f"max_bytes: expected a whole number of bytes from 1,024, got {self.max_bytes!r}")
        if type(self.backups) is not int or not 0 <= self.backups <= 1000:
            raise ConfigError(f"backups: expected a whole number from 0 to 1,000, got {self.backups!r}")

    @classmethod
    def from_env(cls) -> "LogSettings":
        """Defaults (the file ``data_dir()/logs/socrates_nb.log``), overridden by the environment.

        ``SOCRATES_LOG_LEVEL``, ``SOCRATES_LOG_FILE`` (a path, or ``off``), ``SOCRATES_LOG_MAX_BYTES``,
        ``SOCRATES_LOG_BACKUPS``, ``SOCRATES_LOG_CONSOLE_LEVEL``.
        """
        env = os.environ
        file_text = env.get("SOCRATES_LOG_FILE", "").strip()
        file = None if file_text.lower() == "off" else Path(file_text) if file_text else data_dir() / "logs" / LOG_FILE_NAME
        return cls(
            level=env.get("SOCRATES_LOG_LEVEL", cls.level).strip().upper() or cls.level,
            file=file,
            max_bytes=_env_int("SOCRATES_LOG_MAX_BYTES", cls.max_bytes),
            backups=_env_int("SOCRATES_LOG_BACKUPS", cls.backups),
            console_level=env.get("SOCRATES_LOG_CONSOLE_LEVEL", cls.console_level).strip().upper() or cls.console_level,
        )

    def but(self, **changes: Any) -> "LogSettings":
        """A copy with ``changes`` (None values are ignored: an unset option keeps its value)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}")
    return int(raw)


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: secret-named fields become ``[redacted]``; tokens inside text too."""
    for name, value in list(event.items()):
        event[name] = _redacted(name, value)
    return event


@functools.lru_cache(maxsize=4096)  # few distinct field names: the check runs once per name
def is_secret_name(name: str) -> bool:
    """Whether a field name says it holds a secret (``password``, ``refresh_token``, ``api_key``, ``otp``, ...)."""
    words = [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()) if w]
    return any(w in _SECRET_WORDS for w in words) or any(pair in _SECRET_PAIRS for pair in zip(words, words[1:]))


def redact_text(text: str) -> str:
    """``text`` with bearer tokens and JWTs replaced by ``[redacted]``."""
    if "eyJ" not in text and "earer" not in text and "EARER" not in text:  # the common case, without a regex
        return text
    return _SECRET_TEXT.sub(REDACTED, text)


def _redacted(name: str, value: Any) -> Any:
    if value is not None and is_secret_name(name):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redacted(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(name, v) for v in value]
    return value


def escape_controls(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: CR, LF and other control characters become visible escapes in the text the
    console prints as it is (the event, a traceback); it shows other values quoted and escaped already."""
    for name in ("event", "exception", "stack"):
        value = event.get(name)
        if isinstance(value, str) and _CONTROL.search(value):
            event[name] = _CONTROL.sub(lambda m: repr(m.group())[1:-1], value)
    return event


_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.format_exc_info,
    redact,
]

def lead_with_basics(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: timestamp, level, logger and event first in each JSON line."""
    first = {k: event.pop(k) for k in ("timestamp", "level", "logger", "event") if k in event}
    return {**first, **event}


structlog.configure(
    # filter_by_level first: an event below the configured level costs no processing at all
    processors=[structlog.stdlib.filter_by_level, *_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (notebooks and test runners replace it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


class _RotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The standard one, formatting each record once (its size check formats it too, which doubles the cost),
    creating each file (the first, and the new one after a rollover) with mode 0600 whatever the umask."""

    def _open(self) -> Any:
        fd = open_private_file(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)

    def format(self, record: logging.LogRecord) -> str:
        memo = f"_socrates_line_{id(self)}"
        line = record.__dict__.get(memo)
        if line is None:
            line = record.__dict__[memo] = super().format(record)
        return line


def get_logger(name: str) -> Any:
    """A structlog logger under ``socrates_nb`` (``name`` is a module's ``__name__``)."""
    return structlog.stdlib.get_logger(name)


def configure_logging(settings: LogSettings | None = None) -> LogSettings:
    """Send socrates_nb's events to the file (JSON lines, rotating) and the console; idempotent.

    Replaces the handlers of an earlier call. Records of other libraries are untouched.
    """
    settings = settings or LogSettings.from_env()
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    levels = [settings.console_level]
    console = _StderrHandler()
    console.setLevel(settings.console_level)
    console.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, escape_controls,
                    structlog.dev.ConsoleRenderer(colors=False)],
        foreign_pre_chain=_SHARED,
    ))
    logger.addHandler(console)
    if settings.file is not None:
        make_private_dirs(settings.file.parent)
        file = _RotatingFileHandler(
            settings.file, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8", delay=True
        )
        file.setLevel(settings.level)
        file.setFormatter(structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, lead_with_basics,
                        structlog.processors.JSONRenderer()],
            foreign_pre_chain=_SHARED,
        ))
        logger.addHandler(file)
        levels.append(settings.level)
    logger.setLevel(min(logging.getLevelName(level) for level in levels))
    logger.propagate = False
    _CONFIGURED[:] = [settings]
    if settings.file is not None:
        warn_if_shared(settings.file)  # an existing file keeps its mode: the warning names the fix
    return settings


def ensure_logging() -> LogSettings:
    """``configure_logging()`` from the environment unless logging was configured already."""
    return _CONFIGURED[0] if _CONFIGURED else configure_logging()
