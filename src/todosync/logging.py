"""Process-wide logging: every line to stderr (stdout is for command output), as plain text or
JSON, through one pipeline for stdlib and structlog loggers, with secrets redacted.

Context: structlog's context variables are merged into every line, stdlib records included;
the sync engine binds `run_id` for the length of a run, so each line of a run names it.

Redaction (the last step before rendering, and again on the rendered stdlib message): a value
under a key that names a secret (`authorization`, `token`, `secret`, `password`, `cookie`,
`api_key`), at any depth of nested dicts and lists (a `headers` mapping, say), becomes
`[redacted]`; in free text, `Authorization: <scheme> <credentials>`, `Bearer <token>`, our
API tokens (`tds_...`) and URL passwords are cut out.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import structlog

__all__ = ["REDACTED", "best_effort", "configure", "redact_text", "redact_value"]

_SECRET_KEYS = re.compile(r"authorization|token|secret|password|cookie|api_?key", re.IGNORECASE)
_AUTH_HEADER = re.compile(
    r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:[a-z][a-z0-9-]*\s+)?[^\s'\",}]+"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",]+")
_API_TOKEN = re.compile(r"\btds_[A-Za-z0-9_-]+")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
REDACTED = "[redacted]"


@contextlib.contextmanager
def best_effort(log: logging.Logger, what: str) -> Iterator[None]:
    """Runs a step whose failure must not stop its caller: a failure is logged as one warning
    naming `what` and the exception's type (never its message, which may carry data), and goes
    no further."""
    try:
        yield
    except Exception as exc:
        log.warning("%s failed (%s)", what, type(exc).__name__)


def redact_text(text: str) -> str:
    """Removes `Authorization` header values, bearer and API tokens and URL passwords."""
    text = _AUTH_HEADER.sub(rf"\g<1>{REDACTED}", text)
    text = _BEARER.sub(rf"\g<1>{REDACTED}", text)
    text = _API_TOKEN.sub(REDACTED, text)
    return _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text)


def redact_value(value: Any) -> Any:
    """`value` with secrets removed: secret-named keys at any depth, and secrets in text."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _SECRET_KEYS.search(str(key)) else redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def _redact(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        event[key] = REDACTED if _SECRET_KEYS.search(key) else redact_value(value)
    return event


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # structlog's records carry their event dict as `msg`, redacted by `_redact` already;
        # turning it into text would break its formatter
        if not isinstance(record.msg, dict):
            record.msg = redact_text(record.getMessage())
            record.args = None
        return True


def configure(*, level: str = "INFO", json_format: bool = False) -> None:
    """Sends stdlib and structlog records through one redacting formatter to stderr."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_format
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RedactingFilter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic narrates every migration step at INFO; a CLI error must stay one line.
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    # stamina writes a record per retry naming no host (`callable='<context block>'`); the
    # external client writes one line per run naming it instead (`external.resilience`)
    logging.getLogger("stamina").setLevel(max(root.level, logging.ERROR))
    # aiosqlite's DEBUG lines repeat every statement with its parameters (users' list names and
    # item texts) from its own thread, outside the run's context: never wanted
    logging.getLogger("aiosqlite").setLevel(max(root.level, logging.INFO))
