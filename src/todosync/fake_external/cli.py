"""`todosync fake-external`: runs the bundled fake external API in the foreground.

Fault options become fault rules (see `faults.py`) in a fixed order: latency, drop, timeout,
429, 500, ambiguous write. The first of them that fires decides a request's fate, so with
several rates a later kind fires slightly less often than its nominal rate.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Annotated, Literal

import typer

from todosync import logging as todosync_logging
from todosync.fake_external import config, faults

__all__ = ["fault_rules", "run"]

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["console", "json"]
AmbiguousMode = Literal["applied_then_500", "applied_then_hang", "applied_then_drop"]
_WRITES = ["POST", "PATCH", "DELETE"]


def run(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = config.DEFAULT_PORT,
    token: Annotated[
        str | None,
        typer.Option(envvar="TODOSYNC_FAKE_TOKEN", help="Require this bearer token."),
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="SQLite file that keeps the data across restarts.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed that makes faults reproducible.")] = None,
    latency_ms: Annotated[int, typer.Option(min=0, help="Delay added to every request.")] = 0,
    error_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share answered 500.")] = 0.0,
    rate_limit_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share answered 429 with Retry-After.")
    ] = 0.0,
    retry_after: Annotated[int, typer.Option(min=0, help="Retry-After of a 429, seconds.")] = 1,
    retry_after_http_date: Annotated[
        bool, typer.Option(help="Send Retry-After as an HTTP date instead of seconds.")
    ] = False,
    timeout_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share that hangs, then is dropped.")
    ] = 0.0,
    hang_seconds: Annotated[
        float | None, typer.Option(min=0.0, help="How long a hang lasts (default: forever).")
    ] = None,
    drop_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share dropped without a response.")
    ] = 0.0,
    ambiguous_write_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of writes applied, then failed.")
    ] = 0.0,
    ambiguous_mode: Annotated[
        AmbiguousMode, typer.Option(help="What an ambiguous write gets instead of its answer.")
    ] = "applied_then_500",
    clock_offset_seconds: Annotated[
        float, typer.Option(help="Offset of the server's clock (Date, timestamps).")
    ] = 0.0,
    page_size: Annotated[
        int | None, typer.Option(min=1, help="Page GET /todolists with Link: rel=next.")
    ] = None,
    item_create_extension: Annotated[
        bool, typer.Option(help="Offer POST /todolists/{id}/todoitems.")
    ] = False,
    bump_list_on_item_change: Annotated[
        bool,
        typer.Option(
            "--bump-list-on-item-change/--no-bump-list-on-item-change",
            "--bump-list-on-item-write/--no-bump-list-on-item-write",
            help="An item change also bumps its list's updated_at.",
        ),
    ] = True,
    validation: Annotated[
        bool, typer.Option(help="Check request bodies (off: store nulls and wrong types).")
    ] = True,
    empty_patch_bumps: Annotated[
        bool, typer.Option(help="A PATCH that changes nothing still bumps updated_at.")
    ] = False,
    seed_sample: Annotated[bool, typer.Option(help="Create sample lists when empty.")] = False,
    log_level: Annotated[
        LogLevel, typer.Option(envvar="TODOSYNC_LOG_LEVEL", help="Least level logged.")
    ] = "INFO",
    log_format: Annotated[
        LogFormat, typer.Option(envvar="TODOSYNC_LOG_FORMAT", help="Plain text or JSON lines.")
    ] = "console",
) -> None:
    """Run the bundled fake external API (control endpoints under /__control/)."""
    todosync_logging.configure(level=log_level, json_format=log_format == "json")
    rules = fault_rules(
        latency_ms=latency_ms,
        drop_rate=drop_rate,
        timeout_rate=timeout_rate,
        hang_s=hang_seconds,
        rate_limit_rate=rate_limit_rate,
        retry_after_s=retry_after,
        retry_after_http_date=retry_after_http_date,
        error_rate=error_rate,
        ambiguous_write_rate=ambiguous_write_rate,
        ambiguous_mode=ambiguous_mode,
    )
    settings = config.ServerConfig(
        host=host,
        port=port,
        state_path=str(state) if state else None,
        seed_sample=seed_sample,
        runtime=config.RuntimeConfig(
            token=token,
            clock_offset_s=clock_offset_seconds,
            page_size=page_size,
            item_create=item_create_extension,
            bump_list_on_item_change=bump_list_on_item_change,
            validation=validation,
            empty_patch_bumps=empty_patch_bumps,
        ),
        faults=faults.FaultConfig(seed=seed, rules=rules),
    )
    # uvicorn and starlette only when it runs
    from todosync import server as app_server
    from todosync.fake_external import server

    logging.getLogger(__name__).info(
        "fake external API on http://%s:%d (control: /__control/)", host, port
    )
    try:
        server.serve(settings)
    # a busy port, or a state file in a missing directory
    except (OSError, sqlite3.Error, app_server.PortInUse) as exc:
        typer.echo(f"todosync: error: fake external API: {exc}", err=True)
        raise typer.Exit(1) from None


def fault_rules(
    *,
    latency_ms: int = 0,
    drop_rate: float = 0.0,
    timeout_rate: float = 0.0,
    hang_s: float | None = None,
    rate_limit_rate: float = 0.0,
    retry_after_s: int = 1,
    retry_after_http_date: bool = False,
    error_rate: float = 0.0,
    ambiguous_write_rate: float = 0.0,
    ambiguous_mode: AmbiguousMode = "applied_then_500",
) -> list[faults.FaultRule]:
    """The fault rules for the command-line options; a zero rate makes no rule."""
    candidates = [
        faults.FaultRule(kind="latency", latency_ms=latency_ms, rate=1.0 if latency_ms else 0.0),
        faults.FaultRule(kind="drop", rate=drop_rate),
        faults.FaultRule(kind="timeout", rate=timeout_rate, hang_s=hang_s),
        faults.FaultRule(
            kind="rate_limit",
            rate=rate_limit_rate,
            retry_after_s=retry_after_s,
            retry_after_form="http-date" if retry_after_http_date else "seconds",
        ),
        faults.FaultRule(kind="error", rate=error_rate),
        faults.FaultRule(
            kind=ambiguous_mode, methods=_WRITES, rate=ambiguous_write_rate, hang_s=hang_s
        ),
    ]
    return [rule for rule in candidates if rule.rate > 0]
