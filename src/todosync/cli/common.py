"""What every `todosync` command shares: one-line errors and exit codes, the settings, the
schema check."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, ParamSpec, TypeVar

import sqlalchemy.exc
import typer

from todosync import config
from todosync.errors import TodosyncError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "SchemaNotCurrent",
    "fail",
    "handle_errors",
    "load_settings",
    "read_secret",
    "require_current_schema",
    "run_in_transaction",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def fail(message: str, *, code: int = EXIT_ERROR) -> NoReturn:
    """Prints one line on stderr and exits with `code`."""
    typer.echo(f"todosync: error: {message}", err=True)
    raise typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turns the errors a user can cause into one line and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except config.SettingsError as exc:
            fail(f"configuration: {exc}")
        except sqlalchemy.exc.OperationalError as exc:
            fail(f"database unreachable: {_first_line(exc.orig or exc)}")
        except sqlalchemy.exc.DBAPIError as exc:
            fail(f"database error: {_first_line(exc.orig or exc)}")
        except TodosyncError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(_first_line(exc))

    return wrapper


def load_settings() -> config.Settings:
    """The settings, with logging set up as they say (to stderr)."""
    from todosync import logging as todosync_logging

    settings = config.load_settings()
    todosync_logging.configure(level=settings.log_level, json_format=settings.log_format == "json")
    return settings


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class SchemaNotCurrent(TodosyncError):
    """The database has not been migrated to this version's schema."""


def require_current_schema(settings: config.Settings) -> None:
    """Fails early, with the remedy, when the schema is missing or behind."""
    # Alembic logs its plugins and context at INFO: noise on stderr for a schema check.
    alembic_log = logging.getLogger("alembic")
    previous = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        from todosync.db import migrate

        current = migrate.current_revision(settings.database_url)
        head = migrate.head_revision(settings.database_url)
    finally:
        alembic_log.setLevel(previous)
    if current != head:
        raise SchemaNotCurrent("the database schema is not current; run `todosync db upgrade`")


def read_secret(path: Path) -> str:
    """The stripped content of `path`, or of standard input for `-`."""
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    return text.strip()


def run_in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Loads the settings, checks the schema, and runs `work` in one transaction (a one-off
    command's whole job)."""
    from todosync import runtime

    settings = load_settings()
    require_current_schema(settings)
    return asyncio.run(runtime.in_transaction(settings, work))
