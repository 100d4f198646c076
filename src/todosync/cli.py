"""The `todosync` command line. Commands are thin: they parse options, build the settings,
call a service and translate its errors into one line on stderr and an exit code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import sqlalchemy.exc
import typer

from todosync import config
from todosync.errors import TodosyncError

__all__ = ["app", "fail", "handle_errors", "main"]

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="todosync",
    help="A Todo service in two-way sync with an external Todo API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Apply every pending migration (a no-op when the schema is current)."""
    from todosync.db import migrate

    settings = config.load_settings()
    migrate.upgrade(settings.database_url)
    typer.echo(f"database at revision {migrate.head_revision(settings.database_url)}", err=True)


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
