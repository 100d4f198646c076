"""How a sync run looks on a terminal: a progress bar while it runs, one summary line after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from todosync.sync.executor import Progress as ProgressCallback
from todosync.sync.report import RunReport

__all__ = ["progress_bar", "summary_line"]


@contextmanager
def progress_bar(console: Console) -> Iterator[ProgressCallback]:
    """A rich progress bar, fed by the executor's (done, total) callback."""
    with Progress(
        TextColumn("syncing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("sync", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _side(counts: dict[str, Any], side: str) -> str:
    c = counts[side]
    return f"{side} +{c['created']} ~{c['updated']} -{c['deleted']}"


def summary_line(report: RunReport) -> str:
    """One line: run id, status, what changed on each side, conflicts, calls, time."""
    c = report.counts
    parts = [
        f"run {report.run_id} {report.status}{' (dry run)' if report.dry_run else ''}:",
        f"{_side(c, 'local')}, {_side(c, 'remote')},",
        f"{c['conflicts']} conflicts, {c['failed']} failed, {c['quarantined']} quarantined,",
        f"{report.api_calls} API calls, {report.duration_s:.2f} s",
    ]
    line = " ".join(parts)
    if report.reason:
        line += f" ({report.reason})"
    return line
